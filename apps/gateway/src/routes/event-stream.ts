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
 * What a stream may hold waiting for a client that has stopped reading (beyond what the kernel's
 * socket buffers already took): about a thousand order or stock events. The gateway reads its
 * upstream as fast as it comes, so without a bound a client that opens a busy stream and never
 * reads would make the gateway keep every event in memory for as long as it stays connected.
 */
export const MAX_BUFFERED_BYTES = 256 * 1024;

/**
 * Writes to an event stream; a client with more than `MAX_BUFFERED_BYTES` waiting is cut off (its
 * connection destroyed, which ends the stream: its upstream call is cancelled and its place freed).
 * Returns whether the stream is still open.
 */
export function writeEvent(reply: FastifyReply, text: string): boolean {
  const response = reply.raw;
  if (response.destroyed) return false;
  response.write(text);
  if (response.writableLength <= MAX_BUFFERED_BYTES) return true;
  reply.log.warn(
    { buffered_bytes: response.writableLength },
    'a live stream client stopped reading; cutting it off',
  );
  response.destroy();
  return false;
}

/**
 * Ends a hijacked event stream. When the gateway ended it (not the client), the last event says
 * why, so the client knows to re-authenticate (and resume with Last-Event-ID) rather than retry.
 */
export function finishEventStream(reply: FastifyReply, stream: LiveStream): void {
  const reason = stream.ended;
  if (reason && reply.raw.writable)
    reply.raw.write(`event: end\ndata: ${JSON.stringify({ reason, detail: endDetail[reason] })}\n\n`);
  if (!reply.raw.destroyed) reply.raw.end();
  stream.close();
}
