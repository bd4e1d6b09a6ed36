import type { Span } from '@opentelemetry/api';
import type { FastifyError, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { isAppError, OverloadedError, validationFailed } from '../errors/app-error.ts';
import { PROBLEM_CONTENT_TYPE, toProblem } from '../errors/problem.ts';
import type { HttpApp } from './create-http-server.ts';

const locationNames: Record<string, string> = {
  querystring: 'query',
  params: 'path',
  body: 'body',
  headers: 'header',
};

/** Turns a request-schema failure into our validation error, naming each field as `query.page_size`. */
function fromSchemaValidation(error: FastifyError): unknown {
  if (!hasZodFastifySchemaValidationErrors(error)) return error;
  const location = locationNames[error.validationContext ?? 'body'] ?? 'body';
  return validationFailed(
    error.validation.map((issue) => ({
      field: [location, ...issue.instancePath.split('/').filter(Boolean)].join('.'),
      message: issue.message ?? 'is invalid',
    })),
  );
}

/** The request's server span, when @fastify/otel traces the app (telemetry/tracing-sdk.ts). */
const requestSpan = (request: FastifyRequest): Span | null | undefined =>
  (request as FastifyRequest & { opentelemetry?: () => { span?: Span | null } }).opentelemetry?.().span;

/** The one place where thrown errors and unknown routes become problem+json responses. */
export function installProblemHandlers(app: HttpApp): void {
  app.setErrorHandler((rawError: FastifyError, request, reply) => {
    const error = fromSchemaValidation(rawError);
    const problem = toProblem(error, request.url);
    // A shed request is the limit doing its job, not a failure: under overload, an error line with a
    // stack for each would add to the load it sheds.
    if (problem.status >= 500 && !(error instanceof OverloadedError)) {
      request.log.error({ error: rawError }, 'request failed');
      requestSpan(request)?.recordException(rawError);
    } else request.log.info({ code: problem.code, detail: problem.detail }, 'request rejected');
    if (isAppError(error) && error.retryAfterSeconds !== undefined)
      void reply.header('retry-after', String(Math.max(0, Math.ceil(error.retryAfterSeconds))));
    void reply.status(problem.status).type(PROBLEM_CONTENT_TYPE).send(problem);
  });

  app.setNotFoundHandler((request, reply) => {
    const problem = toProblem(
      { statusCode: 404, code: 'ROUTE_NOT_FOUND', message: `No route for ${request.method} ${request.url}` },
      request.url,
    );
    void reply.status(404).type(PROBLEM_CONTENT_TYPE).send(problem);
  });
}
