import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createSecureServer } from 'node:https';
import fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { Counter } from 'prom-client';
import { validationFailed } from '../errors/app-error.ts';
import { PROBLEM_CONTENT_TYPE, toProblem } from '../errors/problem.ts';
import type { Logger } from '../logging/create-logger.ts';
import { runWithRequestContext } from '../logging/request-context.ts';
import type { ServiceMetrics } from '../metrics/service-metrics.ts';
import type { Followed } from '../tls/followed-files.ts';
import type { ServerCertificate } from '../tls/server-certificate.ts';
import { followRenewals, mutualTlsServerOptions } from '../tls/workload-https.ts';
import type { WorkloadTls } from '../tls/workload-tls.ts';
import { CONTROL_CHARACTER_MESSAGE, findControlCharacter } from '../validation/control-characters.ts';
import { answerClientErrors } from './client-errors.ts';
import { installProblemHandlers } from './error-handler.ts';
import { installJsonBodyParser } from './json-body.ts';
import {
  CANARY_HEADER,
  CORRELATION_HEADER,
  correlationIdFrom,
  REQUEST_ID_HEADER,
  requestIdFrom,
  wantsCanary,
} from './request-ids.ts';
import { type CanonicalTarget, canonicalTarget } from './request-path.ts';

export type HttpApp = FastifyInstance<
  Server,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  ZodTypeProvider
>;

export interface HttpServerSettings {
  logger: Logger;
  metrics: ServiceMetrics;
  bodyLimitBytes?: number;
  /** Whole-request deadline enforced by Node itself, so slow clients cannot hold sockets. */
  requestTimeoutMs?: number;
  /** Largest request head Node accepts (default 16 KiB); above it the answer is 431. */
  maxHeaderBytes?: number;
  /** Peers (IPs, CIDRs) whose X-Forwarded-For sets `request.ip`; others are the client themselves. */
  trustProxy?: string[];
  /**
   * Serve HTTPS that asks every client for a certificate of the workload CA (a port inside the
   * mesh); refused handshakes are counted in `http_server_tls_refused_total` by reason.
   */
  tls?: WorkloadTls;
  /**
   * Serve HTTPS with this certificate, asking clients for none: a public port (the edge). Renewed
   * certificates are taken for the next handshakes.
   */
  publicTls?: Followed<ServerCertificate>;
}

const unmeasured = new Set(['/healthz', '/readyz', '/metrics']);

/** What each request's target came to before routing: its canonical form, or why it was refused. */
const targets = new WeakMap<IncomingMessage, CanonicalTarget | Error>();

/**
 * The decoded, canonical path of a request (dot segments resolved, `//` collapsed): the path the
 * router matched, and the one every guard and policy must look at (CONVENTIONS 15).
 */
export function requestPath(request: FastifyRequest): string {
  const target = targets.get(request.raw);
  return target && !(target instanceof Error) ? target.path : (request.url.split('?', 1)[0] ?? '/');
}

export function createHttpServer(settings: HttpServerSettings): HttpApp {
  const requestTimeout = settings.requestTimeoutMs ?? 30_000;
  const app = fastify<Server, IncomingMessage, ServerResponse, FastifyBaseLogger>({
    loggerInstance: settings.logger,
    // Completed requests are logged once, with the route template, by the onResponse hook below.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    bodyLimit: settings.bodyLimitBytes ?? 1024 * 1024,
    genReqId: (request) => requestIdFrom(request.headers),
    // The router, the guards and any upstream all see the one canonical target. A target that
    // cannot be made canonical is routed nowhere in particular and refused by the first hook below.
    rewriteUrl: (request) => {
      try {
        const target = canonicalTarget(request.url ?? '/');
        targets.set(request, target);
        return target.url;
      } catch (error) {
        targets.set(request, error as Error);
        return '/';
      }
    },
    // What fastify refuses before any route or hook (a path parameter longer than the router keeps,
    // 414): a problem document, as every other refusal, not fastify's own JSON.
    frameworkErrors: (error, request, reply: FastifyReply) => {
      const problem = toProblem(error, request.url);
      void reply.status(problem.status).type(PROBLEM_CONTENT_TYPE).send(problem);
    },
    ...(settings.trustProxy && settings.trustProxy.length > 0 ? { trustProxy: settings.trustProxy } : {}),
    // Node's own server enforces the timeouts, checking them every second rather than every 30 s.
    serverFactory: (handler) => {
      const options = {
        requestTimeout,
        headersTimeout: Math.min(requestTimeout, 10_000),
        connectionsCheckingInterval: 1_000,
        ...(settings.maxHeaderBytes ? { maxHeaderSize: settings.maxHeaderBytes } : {}),
      };
      const { tls, publicTls } = settings;
      // A public port's certificate (TLS 1.2+, none asked of clients), or the mesh's (mutual).
      const secure = publicTls
        ? {
            certificate: publicTls,
            options: {
              cert: publicTls.current().cert,
              key: publicTls.current().key,
              minVersion: 'TLSv1.2' as const,
            },
          }
        : tls && { certificate: tls, options: mutualTlsServerOptions(tls) };
      if (!secure) {
        const server = createServer(options, handler);
        answerClientErrors(server);
        return server;
      }
      const server = createSecureServer({ ...options, ...secure.options }, handler);
      followRenewals(server, secure.certificate);
      if (!publicTls) {
        const refused = new Counter({
          name: 'http_server_tls_refused_total',
          help: 'TLS handshakes the HTTP port refused (no client certificate, an unknown CA, an expired one), by reason',
          labelNames: ['reason'] as const,
          registers: [settings.metrics.registry],
        });
        server.on('tlsClientError', (error: NodeJS.ErrnoException) =>
          refused.inc({ reason: error.code ?? 'unknown' }),
        );
      }
      answerClientErrors(server as unknown as Server);
      // fastify's types know the server it makes itself (http.Server); an https.Server serves the
      // same requests and events.
      return server as unknown as Server;
    },
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installProblemHandlers(app);
  installJsonBodyParser(app);

  // Callback style on purpose: `done` runs inside the context, so every later hook, the handler
  // and anything they await see the request's correlation id (and so do its log lines).
  app.addHook('onRequest', (request, reply, done) => {
    const context = {
      correlationId: correlationIdFrom(request.headers),
      requestId: request.id,
      ...(wantsCanary(request.headers[CANARY_HEADER]) ? { canary: true } : {}),
    };
    void reply.header(CORRELATION_HEADER, context.correlationId).header(REQUEST_ID_HEADER, context.requestId);
    const target = targets.get(request.raw);
    runWithRequestContext(context, () => done(target instanceof Error ? target : undefined));
  });

  // Control characters in any text of a request (NUL above all, which PostgreSQL refuses) are a
  // 400 naming the field, for every route at once, before its own schema is consulted.
  app.addHook('preValidation', (request, _reply, done) => {
    for (const [location, value] of [
      ['path', request.params],
      ['query', request.query],
      ['body', request.body],
    ] as const) {
      const found = findControlCharacter(value);
      if (found)
        return done(
          validationFailed([{ field: [location, ...found].join('.'), message: CONTROL_CHARACTER_MESSAGE }]),
        );
    }
    done();
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    if (unmeasured.has(route)) return;
    settings.metrics.httpDuration.observe(
      { method: request.method, route, status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    request.log.info(
      {
        method: request.method,
        route,
        url: request.url,
        ...(request.originalUrl !== request.url ? { original_url: request.originalUrl } : {}),
        status: reply.statusCode,
        duration_ms: reply.elapsedTime,
      },
      'request completed',
    );
  });

  return app;
}
