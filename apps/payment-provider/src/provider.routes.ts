import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import * as z from 'zod';
import { type KnobPanel, knobsSchema } from './knobs.ts';
import { type ApiAnswer, apiError, type ProviderLedger } from './provider-ledger.ts';

const idempotencyKey = z.object({ 'idempotency-key': z.string().min(1).max(255) });
const intentId = z.object({ id: z.string().min(1).max(100) });
const tags = ['provider'];

/**
 * A Stripe-like API, small enough to read: payment intents authorized then captured (or
 * cancelled), refunds, idempotency keys on every POST, and knobs for declines, refund failures,
 * latency and outages.
 */
export const providerRoutes =
  (ledger: ProviderLedger, knobs: KnobPanel): FastifyPluginAsyncZod =>
  async (app) => {
    // Every call of the API meets the dialled latency first and, in an outage, a 503 (as from the
    // provider's network); the admin endpoints do not.
    app.addHook('onRequest', async (request, reply) => {
      if (!request.url.startsWith('/v1/')) return;
      const dials = knobs.current;
      if (dials.latency_ms > 0) await sleep(dials.latency_ms);
      if (dials.outage)
        return send(reply, apiError(503, 'api_error', 'outage', 'The provider is unavailable'));
    });

    /** The key decides: the stored answer replayed, or the work run once and its answer stored. */
    const idempotent = async (
      request: Pick<FastifyRequest, 'method' | 'url' | 'params' | 'body' | 'headers'>,
      reply: FastifyReply,
      work: Parameters<ProviderLedger['once']>[2],
    ) => {
      const key = String(request.headers['idempotency-key']);
      const answer = await ledger.once(
        key,
        { method: request.method, path: request.url, body: request.body ?? null },
        work,
      );
      if (answer.replayed) void reply.header('idempotent-replayed', 'true');
      return send(reply, answer);
    };

    app.post(
      '/v1/payment_intents',
      {
        schema: {
          tags,
          summary: 'Authorize an amount (capture later)',
          headers: idempotencyKey,
          body: z.object({
            amount: z.number().int().min(0),
            currency: z.string().regex(/^[a-z]{3}$/),
            metadata: z.object({ order_id: z.string().min(1).max(200) }),
          }),
        },
      },
      (request, reply) =>
        idempotent(request, reply, (transaction) =>
          ledger.authorize(transaction, {
            orderId: request.body.metadata.order_id,
            amount: request.body.amount,
            currency: request.body.currency,
            declined: knobs.declines(),
          }),
        ),
    );

    app.post(
      '/v1/payment_intents/:id/capture',
      {
        schema: {
          tags,
          summary: 'Capture an authorized payment intent',
          headers: idempotencyKey,
          params: intentId,
        },
      },
      (request, reply) =>
        idempotent(request, reply, (transaction) => ledger.capture(transaction, request.params.id)),
    );

    app.post(
      '/v1/payment_intents/:id/cancel',
      {
        schema: {
          tags,
          summary: 'Cancel an uncaptured payment intent',
          headers: idempotencyKey,
          params: intentId,
        },
      },
      (request, reply) =>
        idempotent(request, reply, (transaction) => ledger.cancel(transaction, request.params.id)),
    );

    app.post(
      '/v1/refunds',
      {
        schema: {
          tags,
          summary: 'Refund a captured payment intent (all that is left unless an amount is given)',
          headers: idempotencyKey,
          body: z.object({
            payment_intent: z.string().min(1).max(100),
            amount: z.number().int().positive().optional(),
          }),
        },
      },
      (request, reply) =>
        idempotent(request, reply, async (transaction) =>
          knobs.refundFails()
            ? apiError(402, 'invalid_request_error', 'refund_failed', 'The refund could not be processed')
            : ledger.refund(transaction, request.body.payment_intent, request.body.amount),
        ),
    );

    app.get(
      '/v1/payment_intents',
      {
        schema: {
          tags,
          summary: "An order's payment intents (search by metadata)",
          querystring: z.object({ order_id: z.string().min(1).max(200) }),
        },
      },
      async (request) => ({ object: 'list', data: await ledger.intentsOf(request.query.order_id) }),
    );

    app.get(
      '/admin/ledger',
      {
        schema: {
          tags: ['operations'],
          summary: 'Net charge per order (captured − refunded), for audits',
          querystring: z.object({ order_id: z.string().min(1).max(200).optional() }),
        },
      },
      async (request) => ({ orders: await ledger.ledger(request.query.order_id) }),
    );

    app.get('/admin/knobs', { schema: { tags: ['operations'] } }, async () => knobs.current);
    app.put(
      '/admin/knobs',
      {
        schema: {
          tags: ['operations'],
          summary: 'Dial declines, refund failures, latency and outages',
          body: knobsSchema.partial(),
        },
      },
      async (request) => knobs.set(request.body),
    );
  };

function send(reply: FastifyReply, answer: ApiAnswer) {
  return reply.code(answer.statusCode).send(answer.body);
}
