import { performance } from 'node:perf_hooks';
import { Code, type ConnectError, type Interceptor } from '@connectrpc/connect';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { validationFailed } from '../errors/app-error.ts';
import {
  CANARY_HEADER,
  CORRELATION_HEADER,
  REQUEST_ID_HEADER,
  USER_ID_HEADER,
  wantsCanary,
  wellFormedId,
} from '../http/request-ids.ts';
import { newId } from '../ids.ts';
import type { Logger } from '../logging/create-logger.ts';
import { runWithRequestContext } from '../logging/request-context.ts';
import { CONTROL_CHARACTER_MESSAGE, findControlCharacter } from '../validation/control-characters.ts';
import { toConnectError } from './grpc-errors.ts';
import { timeoutFromHeaders } from './grpc-timeout.ts';
import type { RpcMetrics } from './rpc-metrics.ts';

const tracer = trace.getTracer('mercato-grpc');

export const headerGetter = {
  keys: (carrier: Headers) => [...carrier.keys()],
  get: (carrier: Headers, key: string) => carrier.get(key) ?? undefined,
};

/**
 * Every served call: continues the caller's trace from its metadata, carries its correlation id
 * and deadline in the request context (so outgoing calls inherit them), records RED metrics and
 * one log line, and maps errors to gRPC statuses in one place.
 */
export function serverInterceptor(logger: Logger, metrics: RpcMetrics): Interceptor {
  return (next) => async (request) => {
    const started = performance.now();
    const timeoutMs = timeoutFromHeaders(request.header);
    const labels = { rpc_service: request.service.typeName, rpc_method: request.method.name };
    const requestContext = {
      correlationId: wellFormedId(request.header.get(CORRELATION_HEADER)) ?? newId('corr'),
      requestId: wellFormedId(request.header.get(REQUEST_ID_HEADER)) ?? newId('req'),
      userId: wellFormedId(request.header.get(USER_ID_HEADER)),
      deadline: timeoutMs === undefined ? undefined : Date.now() + timeoutMs,
      ...(wantsCanary(request.header.get(CANARY_HEADER)) ? { canary: true } : {}),
    };
    if (timeoutMs !== undefined) metrics.serverDeadline.observe(labels, timeoutMs / 1000);
    const parent = propagation.extract(ROOT_CONTEXT, request.header, headerGetter);
    const span = tracer.startSpan(
      `${request.service.typeName}/${request.method.name}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'rpc.system': 'grpc',
          'rpc.service': labels.rpc_service,
          'rpc.method': labels.rpc_method,
        },
      },
      parent,
    );
    const finish = (error?: unknown): ConnectError | undefined => {
      const mapped = error === undefined ? undefined : toConnectError(error);
      const code = mapped ? Code[mapped.code] : 'OK';
      span.setAttribute('rpc.grpc.status_code', mapped?.code ?? 0);
      if (mapped && mapped.code === Code.Internal) {
        span.setStatus({ code: SpanStatusCode.ERROR });
        logger.error({ err: error, rpc_method: labels.rpc_method }, 'rpc failed');
      }
      const durationMs = performance.now() - started;
      metrics.serverDuration.observe({ ...labels, grpc_code: code }, durationMs / 1000);
      logger.info(
        {
          rpc_service: labels.rpc_service,
          rpc_method: labels.rpc_method,
          grpc_code: code,
          duration_ms: durationMs,
          grpc_timeout_ms: timeoutMs ?? null,
        },
        'rpc completed',
      );
      span.end();
      return mapped;
    };

    return context.with(trace.setSpan(parent, span), () =>
      runWithRequestContext(requestContext, async () => {
        try {
          const response = await next(refuseControlCharacters(request));
          if (!response.stream) {
            finish();
            return response;
          }
          return { ...response, message: finishWhenDrained(response.message, finish) };
        } catch (error) {
          throw finish(error);
        }
      }),
    );
  };
}

type ServedRequest = Parameters<Parameters<Interceptor>[0]>[0];

function checkText(message: unknown): void {
  const { $typeName: _, ...fields } = message as { $typeName?: string };
  const found = findControlCharacter(fields);
  if (found)
    throw validationFailed([{ field: found.map(String).join('.'), message: CONTROL_CHARACTER_MESSAGE }]);
}

async function* checkEach(messages: AsyncIterable<unknown>): AsyncIterable<unknown> {
  for await (const message of messages) {
    checkText(message);
    yield message;
  }
}

/**
 * Protobuf guarantees a string is UTF-8, not that it holds no NUL (which PostgreSQL refuses) or
 * other control characters: every request message is checked here, before any handler reads it,
 * and refused with INVALID_ARGUMENT naming the field (as `parseRequest` names them). A streaming
 * request (a server stream's one message included) is checked as each message is read.
 */
function refuseControlCharacters(request: ServedRequest): ServedRequest {
  if (!request.stream) {
    checkText(request.message);
    return request;
  }
  return { ...request, message: checkEach(request.message) } as ServedRequest;
}

async function* finishWhenDrained<T>(
  messages: AsyncIterable<T>,
  finish: (error?: unknown) => ConnectError | undefined,
): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (error) {
    throw finish(error);
  }
  finish();
}
