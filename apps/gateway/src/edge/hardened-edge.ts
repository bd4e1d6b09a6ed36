import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import { AppError } from '@mercato/chassis';
import type { FastifyInstance } from 'fastify';

export interface EdgeSettings {
  /** Browser origins allowed to call the API (the web storefront). */
  corsOrigins: readonly string[];
}

/**
 * What the edge adds on top of Node's own defences (which already answer 400 to `Content-Length`
 * with `Transfer-Encoding`, duplicate lengths and unknown codings): only plain `chunked` framing,
 * security headers, and CORS for the storefront's origin alone.
 */
export async function hardenEdge(app: FastifyInstance, settings: EdgeSettings): Promise<void> {
  app.addHook('onRequest', async (request, reply) => {
    const encoding = request.headers['transfer-encoding'];
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'chunked') {
      // The body's end is unknown, so nothing after it on this connection can be trusted.
      void reply.header('connection', 'close');
      throw new AppError({
        code: 'HTTP.UNSUPPORTED_TRANSFER_ENCODING',
        kind: 'validation',
        message: `Transfer-Encoding "${encoding}" is not accepted; send chunked or Content-Length`,
      });
    }
  });
  // The OpenAPI UI at /docs needs scripts and styles; an API answers JSON, which needs no CSP.
  await app.register(helmet, {
    contentSecurityPolicy: false,
    hsts: false,
    crossOriginResourcePolicy: { policy: 'same-site' },
  });
  await app.register(cors, {
    origin: [...settings.corsOrigins],
    methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type', 'idempotency-key', 'x-correlation-id', 'x-request-id'],
    exposedHeaders: [
      'x-correlation-id',
      'x-request-id',
      'retry-after',
      'ratelimit-limit',
      'ratelimit-remaining',
      'ratelimit-reset',
    ],
    maxAge: 600,
  });
}
