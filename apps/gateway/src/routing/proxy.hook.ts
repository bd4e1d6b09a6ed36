import replyFrom from '@fastify/reply-from';
import { AppError, remainingDeadlineMs } from '@mercato/chassis';
import type { FastifyInstance } from 'fastify';
import { upstreamHeaders } from '../upstreams/http-backend.ts';
import { pickBackend } from './route-table.ts';

/**
 * Routes whose table entry names a `proxy` cluster are forwarded as they are (method, path,
 * query, headers, body streamed) to one of its backends, picked by weight, before any handler of
 * ours runs; this is how a capability moves between a legacy system and a new service by editing
 * the table (strangler fig). Anything neither proxied nor handled is a 404.
 */
export async function installProxying(app: FastifyInstance): Promise<void> {
  await app.register(replyFrom, { undici: { connections: 128, pipelining: 1 } });
  app.addHook('onRequest', async (request, reply) => {
    const cluster = request.gatewayRoute.proxy;
    if (!cluster) return;
    const backend = pickBackend(cluster);
    // Streams the client's body through unread (and so unparsed and unvalidated by us).
    if (request.method !== 'GET' && request.method !== 'HEAD') request.body = request.raw;
    void reply.from(new URL(request.url, backend.url).toString(), {
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
    return reply;
  });

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
}
