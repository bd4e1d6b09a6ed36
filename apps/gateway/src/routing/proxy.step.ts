import replyFrom from '@fastify/reply-from';
import { AppError, remainingDeadlineMs } from '@mercato/chassis';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { upstreamHeaders } from '../upstreams/http-backend.ts';
import { pickBackend } from './route-table.ts';

/**
 * Routes whose table entry names a `proxy` cluster are forwarded as they are (method, path,
 * query, headers, body streamed) to one of its backends, picked by weight, before any handler of
 * ours runs; this is how a capability moves between a legacy system and a new service by editing
 * the table (strangler fig). Anything neither proxied nor handled is a 404.
 */
export async function installProxying(app: FastifyInstance, bodyLimitBytes: number) {
  await app.register(replyFrom, { undici: { connections: 128, pipelining: 1 } });

  app.route({
    method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    url: '/*',
    schema: { hide: true },
    handler: async (request) => {
      throw new AppError({
        code: 'HTTP.ROUTE_NOT_FOUND',
        kind: 'not_found',
        message: `No route for ${request.method} ${request.url.split('?', 1)[0]}`,
      });
    },
  });

  /** Forwards the request when its route is a proxy route; says whether it did. */
  return (request: FastifyRequest, reply: FastifyReply): boolean => {
    const cluster = request.gatewayRoute.proxy;
    if (!cluster) return false;
    const backend = pickBackend(cluster);
    // Streams the client's body through unread (and so unparsed and unvalidated by us); a declared
    // length over the limit is refused here, since fastify's own limit applies only to bodies it parses.
    if (Number(request.headers['content-length'] ?? 0) > bodyLimitBytes)
      throw new AppError({
        code: 'HTTP.PAYLOAD_TOO_LARGE',
        kind: 'payload_too_large',
        message: `The body is larger than ${bodyLimitBytes} bytes`,
      });
    if (request.method !== 'GET' && request.method !== 'HEAD') request.body = request.raw;
    void reply.from(request.url, {
      getUpstream: () => backend.url,
      rewriteRequestHeaders: (_request, headers) => ({ ...headers, ...upstreamHeaders() }),
      // The route's time budget covers the proxied call too.
      timeout: Math.max(1, remainingDeadlineMs() ?? 5_000),
      onError: (failed, { error }) => {
        failed.send(
          new AppError({
            code: `${backend.name.toUpperCase()}.UNAVAILABLE`,
            kind: 'bad_gateway',
            message: `${backend.name} did not answer`,
            cause: error,
          }),
        );
      },
    });
    return true;
  };
}
