import type { DescService } from '@bufbuild/protobuf';
import { MethodOptions_IdempotencyLevel } from '@bufbuild/protobuf/wkt';
import { type CallOptions, type Client, Code, ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import {
  BrokenCircuitError,
  BulkheadRejectedError,
  IsolatedCircuitError,
  TaskCancelledError,
} from 'cockatiel';
import { assertOutsideTransaction } from '../db/transaction-scope.ts';
import { AppError, OverloadedError } from '../errors/app-error.ts';
import type { Logger } from '../logging/create-logger.ts';
import { currentRequestContext, remainingDeadlineMs } from '../logging/request-context.ts';
import { LimitExceededError } from '../resilience/concurrency-limiter.ts';
import {
  createDependencyPolicy,
  type DependencyPolicy,
  type PolicySettings,
} from '../resilience/dependency-policy.ts';
import { clientInterceptor } from './client-interceptor.ts';
import { fromConnectError, wasShed } from './grpc-errors.ts';
import type { RpcMetrics } from './rpc-metrics.ts';

export interface GrpcClientOptions {
  /** Name for metrics, logs and error codes, e.g. `inventory`. */
  dependency: string;
  /** The calling service, e.g. `gateway`: names its own refusals (`GATEWAY.OVERLOADED`). */
  caller?: string;
  /** `http://host:port` of the dependency's gRPC server (static address or DNS name). */
  url: string;
  settings: PolicySettings;
  logger: Logger;
  metrics: RpcMetrics;
}

export interface GrpcClient<S extends DescService> {
  /** The generated client; every unary call runs under the dependency's policy. */
  client: Client<S>;
  policy: DependencyPolicy;
}

const transientCodes = new Set([Code.Unavailable, Code.DeadlineExceeded]);
const failureCodes = new Set([
  Code.Unavailable,
  Code.DeadlineExceeded,
  Code.Internal,
  Code.Unknown,
  Code.DataLoss,
]);
const codeOf = (error: Error) => (error instanceof ConnectError ? error.code : undefined);
/** Socket errors raised before a request is sent: the dependency cannot have seen the call. */
const unreachedCauses = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);
/** The Node error codes along an error's chain of causes. */
function causeCodes(error: unknown): string[] {
  const codes: string[] = [];
  let current = error instanceof Error ? error.cause : undefined;
  for (let depth = 0; current instanceof Error && depth < 5; depth += 1) {
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === 'string') codes.push(code);
    current = current.cause;
  }
  return codes;
}

/**
 * A typed client for one dependency. Each unary attempt gets the smaller of the policy's timeout
 * and what is left of the caller's deadline, which travels on as `grpc-timeout`; idempotent
 * methods (declared in the .proto) are retried; failures come back as AppErrors. A call started
 * inside a database transaction is refused (`assertOutsideTransaction`).
 */
export function createGrpcClient<S extends DescService>(
  service: S,
  options: GrpcClientOptions,
): GrpcClient<S> {
  const { dependency, settings } = options;
  const transport = createGrpcTransport({
    baseUrl: options.url,
    interceptors: [clientInterceptor(dependency, options.metrics)],
    // Connect asks for gzip or brotli by default, and a server then compresses every answer over
    // 1 KB: a page of products or orders was gzipped by the service and gunzipped by the caller
    // on every call (7 % of catalog's CPU under the edge's search), to save bytes on a local link.
    acceptCompression: [],
  });
  const raw = createClient(service, transport) as unknown as Record<
    string,
    (input: unknown, options?: CallOptions) => unknown
  >;
  const policy = createDependencyPolicy({
    dependency,
    settings,
    logger: options.logger,
    metrics: options.metrics,
    isFailure: (error) => failureCodes.has(codeOf(error) ?? Code.Unknown) && !(error instanceof AppError),
    isTransient: (error) => transientCodes.has(codeOf(error) ?? Code.Unknown) && !(error instanceof AppError),
    shedByDependency: (error) => error instanceof ConnectError && wasShed(error),
    timedOut: (error) => codeOf(error) === Code.DeadlineExceeded,
    neverReached: (error) =>
      codeOf(error) === Code.Unavailable && causeCodes(error).some((code) => unreachedCauses.has(code)),
  });

  const wrapped: Record<string, unknown> = {};
  for (const method of service.methods) {
    const call = raw[method.localName];
    if (!call) continue;
    if (method.methodKind !== 'unary') {
      // Streams are long-lived: no retry or per-attempt timeout, but the caller's deadline holds.
      wrapped[method.localName] = (input: unknown, callOptions?: CallOptions) => {
        assertOutsideTransaction(`gRPC ${dependency}/${method.name}`);
        return call(input, {
          ...callOptions,
          timeoutMs: callOptions?.timeoutMs ?? positive(remainingDeadlineMs()),
        });
      };
      continue;
    }
    const idempotent = method.idempotency !== MethodOptions_IdempotencyLevel.IDEMPOTENCY_UNKNOWN;
    wrapped[method.localName] = async (input: unknown, callOptions?: CallOptions) => {
      assertOutsideTransaction(`gRPC ${dependency}/${method.name}`);
      try {
        return await policy.execute(
          (signal) => {
            const remaining = remainingDeadlineMs();
            if (remaining !== undefined && remaining <= 0) throw deadlinePassed(dependency);
            const timeoutMs = Math.min(
              settings.timeoutMs,
              remaining ?? Number.POSITIVE_INFINITY,
              callOptions?.timeoutMs ?? Number.POSITIVE_INFINITY,
            );
            const signals = callOptions?.signal ? [signal, callOptions.signal] : [signal];
            return (
              call(input, {
                ...callOptions,
                signal: AbortSignal.any(signals),
                timeoutMs: positive(timeoutMs),
              }) as Promise<unknown>
            ).catch((error: unknown) => {
              throw signals.some((s) => s.aborted) ? error : connectionLost(error);
            });
          },
          {
            idempotent,
            method: method.name,
            retryAttempts: currentRequestContext()?.retryAttempts,
            remainingMs: remainingDeadlineMs,
          },
        );
      } catch (error) {
        throw toAppError(error, dependency, options.caller);
      }
    };
  }
  return { client: wrapped as Client<S>, policy };
}

/**
 * connect-node reports a connection that broke mid-call (the server process died) as ABORTED
 * (ECONNRESET, a destroyed stream: the code a server uses for a conflict) or CANCELED (the HTTP/2
 * stream reset, as when the caller cancels). When the caller did not cancel, it is the dependency
 * being unavailable: retryable when idempotent, a breaker failure, a 503 at the edge.
 */
function connectionLost(error: unknown): unknown {
  if (!(error instanceof ConnectError)) return error;
  const broken =
    error.code === Code.Canceled ||
    (error.code === Code.Aborted &&
      causeCodes(error).some(
        (code) => code === 'ECONNRESET' || code.startsWith('ERR_HTTP2_') || code.startsWith('ERR_STREAM_'),
      ));
  if (!broken) return error;
  return new ConnectError(error.rawMessage, Code.Unavailable, error.metadata, undefined, error.cause);
}

const positive = (value: number | undefined) =>
  value === undefined ? undefined : Math.max(1, Math.floor(value));

const deadlinePassed = (dependency: string) =>
  new AppError({
    code: `${dependency.toUpperCase()}.DEADLINE_EXCEEDED`,
    kind: 'timeout',
    message: `no time left in the request's deadline to call ${dependency}`,
  });

function toAppError(error: unknown, dependency: string, caller = 'client'): AppError {
  const prefix = dependency.toUpperCase();
  if (error instanceof AppError) return error;
  if (error instanceof LimitExceededError)
    return new OverloadedError(
      `${caller.toUpperCase()}.OVERLOADED`,
      `too many calls to ${dependency} in flight; try again shortly`,
    );
  if (error instanceof BrokenCircuitError || error instanceof IsolatedCircuitError)
    return new AppError({
      code: `${prefix}.CIRCUIT_OPEN`,
      kind: 'unavailable',
      // Refused without a call, like a shed one: the client may ask again once the circuit half-opens.
      retryAfterSeconds: 1,
      message: `${dependency} is unavailable (circuit open)`,
      cause: error,
    });
  if (error instanceof BulkheadRejectedError)
    return new AppError({
      code: `${prefix}.BULKHEAD_FULL`,
      kind: 'unavailable',
      message: `too many calls to ${dependency} in flight`,
      cause: error,
    });
  if (error instanceof TaskCancelledError)
    return new AppError({
      code: `${prefix}.TIMEOUT`,
      kind: 'timeout',
      message: `${dependency} did not answer in time`,
      cause: error,
    });
  return fromConnectError(ConnectError.from(error), dependency);
}
