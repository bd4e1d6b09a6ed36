import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import * as z from 'zod';
import type { CarrierBooks } from './carrier-books.ts';
import { type KnobPanel, knobsSchema } from './knobs.ts';

const tags = ['carrier'];
const apiError = (reply: FastifyReply, statusCode: number, code: string, message: string) =>
  reply.code(statusCode).send({ error: { code, message } });

/**
 * A parcel carrier's API, small enough to read: hand a parcel over with an idempotency key, track
 * it until it is delivered (or lost), list a sender's parcels for audits; knobs for refusals, lost
 * parcels, transit time, latency and outages.
 */
export const carrierRoutes =
  (books: CarrierBooks, knobs: KnobPanel): FastifyPluginAsyncZod =>
  async (app) => {
    // Every call of the API meets the dialled latency first and, in an outage, a 503.
    app.addHook('onRequest', async (request, reply) => {
      if (!request.url.startsWith('/v1/')) return;
      const dials = knobs.current;
      if (dials.latency_ms > 0) await sleep(dials.latency_ms);
      if (dials.outage) return apiError(reply, 503, 'outage', 'The carrier is unavailable');
    });

    app.post(
      '/v1/shipments',
      {
        schema: {
          tags,
          summary: 'Hand a parcel over (refused parcels answer 422 with the reason)',
          headers: z.object({ 'idempotency-key': z.string().min(1).max(255) }),
          body: z.object({
            reference: z.string().min(1).max(200),
            address: z.string().min(1).max(500),
            parcels: z
              .array(z.object({ sku: z.string().min(1).max(64), quantity: z.number().int().positive() }))
              .min(1)
              .max(100),
          }),
        },
      },
      async (request, reply) => {
        const handed = await books.handOver(
          request.headers['idempotency-key'],
          request.body,
          knobs.draw(),
          new Date(),
        );
        if (handed.outcome === 'key_reused')
          return apiError(
            reply,
            400,
            'idempotency_key_in_use',
            'This idempotency key was used for another parcel',
          );
        if (handed.outcome === 'replayed') void reply.header('idempotent-replayed', 'true');
        const { shipment } = handed;
        return reply.code(shipment.status === 'refused' ? 422 : 201).send(shipment);
      },
    );

    app.get(
      '/v1/shipments/:id',
      { schema: { tags, summary: 'Track a parcel', params: z.object({ id: z.string().min(1).max(100) }) } },
      async (request, reply) => {
        const shipment = await books.find(request.params.id, new Date());
        return shipment ?? apiError(reply, 404, 'not_found', `No shipment ${request.params.id}`);
      },
    );

    app.get(
      '/v1/shipments',
      {
        schema: {
          tags,
          summary: "A sender's parcels by its reference (for audits)",
          querystring: z.object({ reference: z.string().min(1).max(200) }),
        },
      },
      async (request) => ({
        object: 'list',
        data: await books.byReference(request.query.reference, new Date()),
      }),
    );

    app.get('/admin/knobs', { schema: { tags: ['operations'] } }, async () => knobs.current);
    app.put(
      '/admin/knobs',
      {
        schema: {
          tags: ['operations'],
          summary: 'Dial refusals, lost parcels, transit time, latency and outages',
          body: knobsSchema.partial(),
        },
      },
      async (request) => knobs.set(request.body),
    );
  };
