import { setTimeout as sleep } from 'node:timers/promises';
import { AppError, type Logger, remainingDeadlineMs } from '@mercato/chassis';
import { legacyUserId } from '@mercato/contracts';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import * as z from 'zod';
import type { Identification } from '../auth/identification.ts';
import type { Upstreams } from '../upstreams/upstreams.ts';
import { problems } from './edge-schemas.ts';
import {
  inMonolithShape,
  type LegacyCustomer,
  legacyCustomer,
  monolithCustomer,
} from './legacy-customer-edge.ts';
import { legacyIdParams, requireOperator } from './legacy-edge.ts';

const changesSchema = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    address: z.string().max(500).optional(),
    email: z.email().max(254).optional(),
  })
  .refine((changes) => Object.values(changes).some((value) => value !== undefined), {
    error: 'expected at least one of name, address, email',
  });
type Changes = z.output<typeof changesSchema>;

type Owner = 'monolith' | 'services';
/** How long a write waits between two asks while customers are moving (the hold). */
const HOLD_STEP_MS = 25;
/** Deadline a held write keeps to be answered in: a call begun with less may run out mid-way. */
const HOLD_MARGIN_MS = 1_000;

const customerErrorsMoving = (id: number) =>
  new AppError({
    code: 'LEGACY.CUSTOMERS_MOVING',
    kind: 'conflict',
    retryable: true,
    retryAfterSeconds: 1,
    message: `Customers are moving from the monolith to the services and customer ${id} could not be written within this request's time: nothing was written; send it again`,
  });

/** Both sides' refusals reach here as AppErrors (the monolith's problem code, customer's gRPC code). */
const codeOf = (error: unknown): string | undefined => (error instanceof AppError ? error.code : undefined);

/** The monolith's PATCH, through the `legacy` cluster; its refusals come back as its problems. */
const toMonolith = (upstreams: Upstreams, request: FastifyRequest, id: number, changes: Changes) =>
  monolithCustomer(upstreams, request, id, { method: 'PATCH', body: changes });

/** customer's `UpdateProfile` of `usr_legacy_<id>`, answered in the monolith's shape. */
async function toServices(
  upstreams: Upstreams,
  request: FastifyRequest,
  id: number,
  changes: Changes,
): Promise<LegacyCustomer> {
  // identity owns sign-in emails: an email change has not moved with the profiles.
  if (changes.email !== undefined)
    throw new AppError({
      code: 'LEGACY.EMAIL_NOT_MOVED',
      kind: 'unprocessable',
      message:
        'Customers moved to the services, which change a name or an address; an email is the sign-in of identity and cannot be changed here yet',
      details: { errors: [{ field: 'body.email', message: 'not changed here since customers moved' }] },
    });
  return inMonolithShape(
    id,
    upstreams.for(request).customer.client.updateProfile({
      id: legacyUserId(String(id)),
      name: changes.name ?? '',
      address: changes.address,
    }),
  );
}

/**
 * Phase 3 of the strangler fig for customers (docs/strangler-fig.md): `PATCH
 * /legacy/api/customers/:id` goes to whichever side writes customers, one at a time. The monolith
 * refuses once it gave them up (`LEGACY.CAPABILITY_MOVED`), and the services refuse until they have
 * applied everything it wrote before (`CUSTOMER.MOVE_IN_PROGRESS`): a write that meets the switch is
 * held here and asked again every 25 ms within its deadline, so it is neither refused nor lost, and
 * reaches the one owner. The owner last seen is asked first. A route that proxies the path (phase 1)
 * never reaches this handler; a table without the monolith's cluster (retired) sends every write to
 * the services.
 */
export function legacyCustomerWrites(
  upstreams: Upstreams,
  identification: Identification,
  logger: Logger,
): FastifyPluginAsyncZod {
  let owner: Owner = 'monolith';
  const write = async (request: FastifyRequest, id: number, changes: Changes): Promise<LegacyCustomer> => {
    const started = performance.now();
    let held = false;
    // Sent back by the side asked since the last answer: both sides in a row means the move is
    // under way (the monolith gave customers up, the services have not seen it yet).
    let bounced = 0;
    // An email is changed by the monolith alone: asked there first whatever the last write found,
    // so a monolith that took customers back writes it, and one that gave them up says so.
    let first: Owner | undefined = changes.email === undefined ? undefined : 'monolith';
    // A table with no cluster for the monolith (it retired, phase N) sends everything to the services.
    const monolithGone = request.gatewayRoute.clusterFor('legacy') === undefined;
    for (;;) {
      const asked = monolithGone ? 'services' : (first ?? owner);
      first = undefined;
      try {
        const answer =
          asked === 'monolith'
            ? await toMonolith(upstreams, request, id, changes)
            : await toServices(upstreams, request, id, changes);
        if (held)
          logger.info(
            { legacy_id: id, owner: asked, held_ms: Math.round(performance.now() - started) },
            'a customer write held while customers moved went to its new owner',
          );
        return answer;
      } catch (error) {
        const code = codeOf(error);
        if (monolithGone && code === 'CUSTOMER.KEPT_BY_MONOLITH')
          throw new AppError({
            code: 'LEGACY.UNAVAILABLE',
            kind: 'unavailable',
            message: `The monolith writes customer ${id}, and the routing table has no cluster for it`,
          });
        const movedAway =
          (asked === 'monolith' && code === 'LEGACY.CAPABILITY_MOVED') ||
          (asked === 'services' && code === 'CUSTOMER.KEPT_BY_MONOLITH');
        if (!movedAway && code !== 'CUSTOMER.MOVE_IN_PROGRESS') throw error;
        if (movedAway && owner === asked) owner = asked === 'monolith' ? 'services' : 'monolith';
        bounced = movedAway ? bounced + 1 : 0;
        if (code === 'CUSTOMER.MOVE_IN_PROGRESS' || bounced >= 2) {
          held = true;
          // Within the request's deadline, with time left to answer: a move that takes longer (the
          // services far behind the monolith) is answered 409 with Retry-After, nothing written.
          if ((remainingDeadlineMs() ?? 0) < HOLD_MARGIN_MS) throw customerErrorsMoving(id);
          await sleep(HOLD_STEP_MS);
        }
      }
    }
  };
  return async (app) => {
    app.patch(
      '/legacy/api/customers/:id',
      {
        schema: {
          tags: ['legacy'],
          summary:
            'Change a customer of the monolith (name, address, email): written by whichever side owns customers',
          security: [{ bearer: [] }],
          params: legacyIdParams,
          body: changesSchema,
          response: { 200: legacyCustomer, ...problems },
        },
      },
      async (request) => {
        await requireOperator(identification, request);
        return write(request, Number(request.params.id), request.body);
      },
    );
  };
}
