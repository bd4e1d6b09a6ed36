import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from '../logging/create-logger.ts';
import { currentRequestContext, runWithRequestContext } from '../logging/request-context.ts';
import type { ServiceMetrics } from '../metrics/service-metrics.ts';
import { installProblemHandlers } from './error-handler.ts';
import { CORRELATION_HEADER, REQUEST_ID_HEADER, requestIdsFrom } from './request-ids.ts';

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
}

const unmeasured = new Set(['/healthz', '/readyz', '/metrics']);

export function createHttpServer(settings: HttpServerSettings): HttpApp {
  const requestTimeout = settings.requestTimeoutMs ?? 30_000;
  const app = fastify<Server, IncomingMessage, ServerResponse, FastifyBaseLogger>({
    loggerInstance: settings.logger,
    // Completed requests are logged once, with the route template, by the onResponse hook below.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    bodyLimit: settings.bodyLimitBytes ?? 1024 * 1024,
    genReqId: () => currentRequestContext()?.requestId ?? 'unknown',
    // Node's own server enforces timeouts; it checks them every second rather than every 30 s.
    serverFactory: (handler) =>
      createServer(
        {
          requestTimeout,
          headersTimeout: Math.min(requestTimeout, 10_000),
          connectionsCheckingInterval: 1_000,
        },
        (request, response) => {
          const ids = requestIdsFrom(request.headers);
          response.setHeader(CORRELATION_HEADER, ids.correlationId);
          response.setHeader(REQUEST_ID_HEADER, ids.requestId);
          runWithRequestContext(ids, () => handler(request, response));
        },
      ),
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installProblemHandlers(app);

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    if (unmeasured.has(route)) return;
    const seconds = reply.elapsedTime / 1000;
    settings.metrics.httpDuration.observe(
      { method: request.method, route, status_code: String(reply.statusCode) },
      seconds,
    );
    request.log.info(
      {
        method: request.method,
        route,
        url: request.url,
        status: reply.statusCode,
        duration_ms: reply.elapsedTime,
      },
      'request completed',
    );
  });

  return app;
}
