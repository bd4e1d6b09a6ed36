import { AppError, type ErrorKind, isAppError } from '@mercato/chassis';
import { parseOrderLogPosition, parseOrderStreamVersion } from '@mercato/contracts';
import type { OrderChange } from '@mercato/contracts/grpc/order';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import * as z from 'zod';
import type { Identification } from '../auth/identification.ts';
import type { LiveStream, LiveStreams } from '../streams/live-streams.ts';
import type { Upstreams } from '../upstreams/upstreams.ts';
import { problems } from './edge-schemas.ts';
import { beginEventStream, finishEventStream, writeEvent } from './event-stream.ts';
import { requireOwnOrder } from './own-order.ts';

const HEARTBEAT_MS = 15_000;
/** What order answers to a stream it will never serve, however often it is asked. */
const refusals = new Set<ErrorKind>([
  'validation',
  'not_found',
  'forbidden',
  'unauthenticated',
  'unprocessable',
]);
const RECONNECT_MS = { first: 200, max: 3_000 };

const changeJson = (change: OrderChange) => ({
  order_id: change.orderId,
  status: change.status,
  type: change.type,
  version: change.version,
  occurred_at: change.occurredAt,
  reason: change.reason || null,
  reason_detail: change.reasonDetail || null,
});

const resumeFrom = (request: FastifyRequest, query: { last_event_id?: string | undefined }) => {
  const header = request.headers['last-event-id'];
  return (Array.isArray(header) ? header[0] : header) ?? query.last_event_id ?? '';
};

const badResume = (expected: string) =>
  new AppError({
    code: 'ORDER.BAD_LAST_EVENT_ID',
    kind: 'validation',
    message: `Last-Event-ID must be the id of an event of this stream (${expected})`,
  });

/**
 * Pipes an order change stream to the client as Server-Sent Events, each with the id to resume
 * after. A dropped upstream (order restarting) is opened again after the last id sent, so the
 * client misses nothing; the stream ends when the client leaves, or with an `end` event when the
 * gateway ends it (its token expired, its user was blocked).
 */
async function pipeChanges(
  request: FastifyRequest,
  reply: FastifyReply,
  stream: LiveStream,
  open: (
    after: string,
    signal: AbortSignal,
  ) => AsyncIterable<{ change?: OrderChange | undefined; startedAfter?: string }>,
  after: string,
): Promise<void> {
  const { signal } = stream;
  let heartbeat: NodeJS.Timeout | undefined;
  let last = after;
  let delay = RECONNECT_MS.first;
  try {
    beginEventStream(reply);
    writeEvent(reply, `retry: 1000\n\n`);
    heartbeat = setInterval(() => writeEvent(reply, ': keep-alive\n\n'), HEARTBEAT_MS);
    while (!signal.aborted) {
      try {
        for await (const { change, startedAfter } of open(last, signal)) {
          // A customer's stream says where it starts: the client can resume from there at once.
          if (startedAfter) {
            writeEvent(reply, `id: ${startedAfter}\nevent: ready\ndata: {}\n\n`);
            last = startedAfter;
          }
          if (!change) continue;
          writeEvent(
            reply,
            `id: ${change.resumeAfter}\nevent: order\ndata: ${JSON.stringify(changeJson(change))}\n\n`,
          );
          last = change.resumeAfter;
          delay = RECONNECT_MS.first;
        }
      } catch (error) {
        if (signal.aborted) break;
        // Refused (not failed): asking again would be refused again, every few seconds, for ever.
        if (isAppError(error) && refusals.has(error.kind)) {
          writeEvent(
            reply,
            `event: end\ndata: ${JSON.stringify({ reason: 'refused', code: error.code, detail: error.message })}\n\n`,
          );
          break;
        }
        request.log.warn({ err: error, after: last }, 'order stream dropped; opening it again');
      }
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, delay);
        signal.addEventListener('abort', () => resolve(clearTimeout(timer)), { once: true });
      });
      delay = Math.min(delay * 2, RECONNECT_MS.max);
    }
  } finally {
    clearInterval(heartbeat);
    finishEventStream(reply, stream);
  }
}

/** Live order changes at the edge (SSE), resumable with `Last-Event-ID`. */
export const orderLiveRoutes =
  (upstreams: Upstreams, identification: Identification, streams: LiveStreams): FastifyPluginAsyncZod =>
  async (app) => {
    const querystring = z.object({
      last_event_id: z
        .string()
        .max(64)
        .optional()
        .meta({ description: 'For clients that cannot set Last-Event-ID' }),
    });

    app.get(
      '/api/orders/live',
      {
        schema: {
          tags: ['orders'],
          operationId: 'myOrdersLive',
          summary: 'Status changes of my orders as Server-Sent Events, from now or after Last-Event-ID',
          security: [{ bearer: [] }],
          querystring,
          response: problems,
        },
      },
      async (request, reply) => {
        const principal = await identification.requirePrincipal(request);
        const { userId } = principal;
        const after = resumeFrom(request, request.query);
        // Checked here, in range too: a value the order log cannot hold is the client's mistake (400),
        // not an upstream failure to retry for ever.
        if (after !== '' && !parseOrderLogPosition(after))
          throw badResume('a position <transaction>.<sequence> within the log');
        const order = upstreams.for(request).order.client;
        const stream = streams.open(request, principal);
        await pipeChanges(
          request,
          reply,
          stream,
          (from, signal) => order.streamOrders({ customerId: userId, after: from }, { signal }),
          after,
        );
      },
    );

    app.get(
      '/api/orders/:id/live',
      {
        schema: {
          tags: ['orders'],
          operationId: 'orderLive',
          summary: "One of my orders' status changes as Server-Sent Events: its history, then each change",
          security: [{ bearer: [] }],
          params: z.object({ id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/) }),
          querystring,
          response: problems,
        },
      },
      async (request, reply) => {
        const after = resumeFrom(request, request.query);
        if (after !== '' && parseOrderStreamVersion(after) === undefined)
          throw badResume('a version of the order');
        const { principal } = await requireOwnOrder(upstreams, identification, request, request.params.id);
        const order = upstreams.for(request).order.client;
        const stream = streams.open(request, principal);
        await pipeChanges(
          request,
          reply,
          stream,
          (from, signal) => order.streamOrders({ orderId: request.params.id, after: from }, { signal }),
          after,
        );
      },
    );
  };
