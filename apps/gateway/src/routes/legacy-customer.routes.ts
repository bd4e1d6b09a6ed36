import { AsyncExperiment, type Logger, type ReportingExperiment } from '@mercato/chassis';
import { legacyUserId } from '@mercato/contracts';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Registry } from 'prom-client';
import type { Identification } from '../auth/identification.ts';
import type { Upstreams } from '../upstreams/upstreams.ts';
import { problems } from './edge-schemas.ts';
import {
  inMonolithShape,
  type LegacyCustomer,
  legacyCustomer,
  monolithCustomer,
} from './legacy-customer-edge.ts';
import { IN_FLIGHT_MS, legacyIdParams, requireOperator } from './legacy-edge.ts';

interface Read {
  id: number;
  request: FastifyRequest;
}

/** The monolith's answer, read through the `legacy` cluster. */
const fromMonolith = (upstreams: Upstreams, { id, request }: Read): Promise<LegacyCustomer> =>
  monolithCustomer(upstreams, request, id);

/** The services' answer in the monolith's shape: customer's profile `usr_legacy_<id>`, taken over. */
async function fromServices(upstreams: Upstreams, { id, request }: Read): Promise<LegacyCustomer> {
  return inMonolithShape(
    id,
    upstreams.for(request).customer.client.getCustomer({ id: legacyUserId(String(id)) }),
  );
}

/**
 * Phase 2 of the strangler fig for one capability, a customer read of the monolith's API
 * (`GET /legacy/api/customers/:id`): who answers is the matching route's `experiment` — the
 * monolith (control), both with the monolith's answer returned and the services' compared (shadow),
 * or the services for a share of customers (candidate). A route that proxies the path (phase 1)
 * never reaches this handler.
 */
export function legacyCustomerReads(
  upstreams: Upstreams,
  identification: Identification,
  settings: { registry: Registry; logger: Logger },
): { routes: FastifyPluginAsyncZod; experiment: ReportingExperiment } {
  const experiment = new AsyncExperiment<Read, LegacyCustomer>({
    name: 'legacy-customer-reads',
    control: (read) => fromMonolith(upstreams, read),
    candidate: (read) => fromServices(upstreams, read),
    registry: settings.registry,
    logger: settings.logger,
    describeInput: ({ id }) => ({ id }),
    ignore: (monolith) => Date.parse(monolith.updatedAt) > Date.now() - IN_FLIGHT_MS,
  });
  const routes: FastifyPluginAsyncZod = async (app) => {
    app.get(
      '/legacy/api/customers/:id',
      {
        schema: {
          tags: ['legacy'],
          summary:
            "A customer of the monolith, answered by the monolith or the services (the route's experiment)",
          security: [{ bearer: [] }],
          params: legacyIdParams,
          response: { 200: legacyCustomer, ...problems },
        },
      },
      async (request) => {
        await requireOperator(identification, request);
        const id = Number(request.params.id);
        const run = request.gatewayRoute.experiment ?? { mode: 'control', candidatePercent: 0 };
        return experiment.run({ id, request }, { ...run, subject: String(id) });
      },
    );
  };
  return { routes, experiment };
}
