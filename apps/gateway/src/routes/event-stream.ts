import type { FastifyReply } from 'fastify';
import type { LiveStream } from '../streams/live-streams.ts';

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

const endDetail = {
  token_expired:
    'The access token that opened this stream has expired: refresh it and reconnect with Last-Event-ID',
  user_blocked: 'This account has been blocked',
} as const;

/**
 * Ends a hijacked event stream. When the gateway ended it (not the client), the last event says
 * why, so the client knows to re-authenticate (and resume with Last-Event-ID) rather than retry.
 */
export function finishEventStream(reply: FastifyReply, stream: LiveStream): void {
  const reason = stream.ended;
  if (reason && reply.raw.writable)
    reply.raw.write(`event: end\ndata: ${JSON.stringify({ reason, detail: endDetail[reason] })}\n\n`);
  reply.raw.end();
  stream.close();
}
