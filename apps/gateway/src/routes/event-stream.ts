import { currentRequestContext } from '@mercato/chassis';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * A live stream's lifetime at the edge: it outlasts the request deadline by design (cleared here,
 * so upstream calls carry none) and ends when the client leaves (the signal aborts).
 */
export function liveStreamSignal(request: FastifyRequest): AbortSignal {
  const context = currentRequestContext();
  if (context) context.deadline = undefined;
  const controller = new AbortController();
  request.raw.once('close', () => controller.abort());
  return controller.signal;
}

/** Takes the response over from fastify and answers 200 with a Server-Sent Events head. */
export function beginEventStream(reply: FastifyReply): void {
  reply.hijack();
  reply.raw.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
}
