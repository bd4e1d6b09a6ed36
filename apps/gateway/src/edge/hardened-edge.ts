import type { IncomingMessage, ServerResponse } from 'node:http';
import cors from '@fastify/cors';
import { AppError } from '@mercato/chassis';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';

export interface EdgeSettings {
  /** Browser origins allowed to call the API (the web storefront). */
  corsOrigins: readonly string[];
}

/**
 * What the edge adds on top of Node's own defences (which already answer 400 to `Content-Length`
 * with `Transfer-Encoding`, duplicate lengths and unknown codings): only plain `chunked` framing.
 */
export function rejectAmbiguousFraming(request: FastifyRequest, reply: FastifyReply): void {
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
}

/**
 * The headers helmet sets, worked out once. helmet decides which headers and values; with these
 * options they never vary per request, so running its middleware on every request (as
 * @fastify/helmet does) only repeated the same work: it cost ~40 % of a proxied request's
 * throughput in bench/gateway.
 */
export function securityHeaders(options: HelmetOptions): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader: (name: string, value: unknown) => {
      headers[name.toLowerCase()] = String(value);
    },
    removeHeader: (name: string) => {
      delete headers[name.toLowerCase()];
    },
  };
  helmet(options)({} as IncomingMessage, response as unknown as ServerResponse, () => {});
  return headers;
}

/** Security headers, and CORS for the storefront's origin alone. */
export async function hardenEdge(app: FastifyInstance, settings: EdgeSettings): Promise<void> {
  // The OpenAPI UI at /docs needs scripts and styles; an API answers JSON, which needs no CSP.
  const headers = securityHeaders({
    contentSecurityPolicy: false,
    hsts: false,
    crossOriginResourcePolicy: { policy: 'same-site' },
  });
  app.addHook('onRequest', (_request, reply, done) => {
    void reply.headers(headers);
    done();
  });
  // An OPTIONS request here is a CORS preflight; one without its two headers gets a problem, as every
  // other refusal does (@fastify/cors would answer it in plain text).
  app.addHook('onRequest', (request, _reply, done) => {
    if (
      request.method === 'OPTIONS' &&
      (!request.headers.origin || !request.headers['access-control-request-method'])
    )
      return done(
        new AppError({
          code: 'HTTP.NOT_A_PREFLIGHT',
          kind: 'validation',
          message:
            'OPTIONS is answered only as a CORS preflight: send Origin and Access-Control-Request-Method',
        }),
      );
    done();
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
