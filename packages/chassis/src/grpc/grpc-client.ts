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
import { errorCodes } from '../errors/error-codes.ts';
import type { Logger } from '../logging/create-logger.ts';
import { currentRequestContext, remainingDeadlineMs } from '../logging/request-context.ts';
import { LimitExceededError } from '../resilience/concurrency-limiter.ts';
import {
  createDependencyPolicy,
  type DependencyPolicy,
  type DependencyPolicyOptions,
  type PolicySettings,
} from '../resilience/dependency-policy.ts';
import { reportEjections } from '../resilience/ejection-report.ts';
import { type CallOutcome, InstanceBalancer } from '../resilience/instance-balancer.ts';
import { spiffeIdOfCertificate } from '../tls/spiffe-id.ts';
import type { WorkloadTls } from '../tls/workload-tls.ts';
import { clientInterceptor } from './client-interceptor.ts';
import { fromConnectError, wasShed } from './grpc-errors.ts';
import { GRPC_MAX_MESSAGE_BYTES } from './grpc-limits.ts';
import type { RpcMetrics } from './rpc-metrics.ts';

export interface GrpcClientOptions {
  /** Name for metrics, logs and error codes, e.g. `inventory`. */
  dependency: string;
  /** The calling service, e.g. `gateway`: names its own refusals (`GATEWAY.OVERLOADED`). */
  caller?: string;
  /** `http://host:port` of the dependency's gRPC server, when it is one fixed address. */
  url?: string;
  /**
   * The dependency's instances, as discovery finds them (or they change): calls are balanced over
   * them and an instance that fails is ejected for a while (instance-balancer.ts). Default: `url` alone.
   */
  endpoints?: Endpoints;
  settings: PolicySettings;
  logger: Logger;
  metrics: RpcMetrics;
  /**
   * Call `https://` instances over mutual TLS with this workload's certificate. With `peer`, an
   * instance must also prove it is that service (its certificate's SPIFFE id names it), whatever
   * address discovery gave.
   */
  tls?: { workload: WorkloadTls; peer?: string };
}

/** Where a dependency's instances are now (`http://host:port` each); asked on every call. */
export interface Endpoints {
  /** A new array whenever the instances or their weights change. */
  current: () => readonly string[];
  /** Each instance's share of calls relative to the others' (a canary's); equal when absent. */
  weightOf?: (address: string) => number;
  /** Whether an instance is a canary release's canary (where a tester's request goes). */
  isCanary?: (address: string) => boolean;
}

/** A fixed set of instances. */
export const staticEndpoints = (urls: readonly string[]): Endpoints => {
  const fixed = [...urls];
  return { current: () => fixed };
};

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
/** The cause code of a call that found no instance of its dependency to go to. */
const NO_INSTANCE = 'ENOINSTANCE';
/** The cause code of a stream the server refused unprocessed (RST_STREAM REFUSED_STREAM). */
const REFUSED_STREAM = 'REFUSED_STREAM';
const codeOf = (error: Error) => (error instanceof ConnectError ? error.code : undefined);
/** Socket errors raised before a request is sent: the dependency cannot have seen the call. */
const unreachedCauses = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  NO_INSTANCE,
  REFUSED_STREAM,
]);
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
  // One Connect client per instance, made on first use and dropped when the instance goes.
  const clients = new Map<string, Record<string, (input: unknown, options?: CallOptions) => unknown>>();
  // A renewed certificate is used from the next connection: the clients made with the old are dropped
  // (their open connections end once idle).
  options.tls?.workload.onRenewed(() => clients.clear());
  const clientAt = (address: string) => {
    let client = clients.get(address);
    if (!client) {
      const transport = createGrpcTransport({
        baseUrl: address,
        ...(options.tls && address.startsWith('https:')
          ? {
              nodeOptions: tlsOptions(options.tls.workload, options.tls.peer),
              idleConnectionTimeoutMs: 60_000,
            }
          : {}),
        interceptors: [clientInterceptor(dependency, options.metrics)],
        // Connect asks for gzip or brotli by default, and a server then compresses every answer over
        // 1 KB: a page of products or orders was gzipped by the service and gunzipped by the caller
        // on every call (7 % of catalog's CPU under the edge's search), to save bytes on a local link.
        acceptCompression: [],
        readMaxBytes: GRPC_MAX_MESSAGE_BYTES,
      });
      client = createClient(service, transport) as unknown as Record<
        string,
        (input: unknown, options?: CallOptions) => unknown
      >;
      clients.set(address, client);
    }
    return client;
  };
  const endpoints = options.endpoints ?? staticEndpoints(options.url ? [options.url] : []);
  const balancer = new InstanceBalancer();
  balancer.onEject = reportEjections(dependency, options.logger, options.metrics.ejections);
  let known: readonly string[] | undefined;
  const sync = () => {
    const now = endpoints.current();
    if (now === known) return;
    known = now;
    balancer.update(now, endpoints.weightOf);
    for (const address of clients.keys()) if (!now.includes(address)) clients.delete(address);
  };
  /**
   * One attempt on one instance, or on the next when an instance refuses the connection (the call
   * never reached it, so even a call that is not idempotent may go to another): the attempt fails
   * with that refusal only when every instance refused it.
   */
  const onInstance = async (
    method: string,
    attempt: (call: (input: unknown, options?: CallOptions) => unknown) => Promise<unknown>,
    timedOut: () => boolean,
  ): Promise<unknown> => {
    sync();
    const tried = new Set<string>();
    let refused: unknown;
    // A tester's request (x-mercato-canary: always) goes to the canary while there is one.
    const prefer = currentRequestContext()?.canary ? endpoints.isCanary : undefined;
    for (;;) {
      const lease = balancer.pick(tried, prefer);
      if (!lease) throw refused ?? noInstance(dependency);
      tried.add(lease.address);
      const call = clientAt(lease.address)[method];
      if (!call) throw new Error(`${dependency} has no method ${method}`);
      try {
        const result = await attempt(call);
        lease.end('answered');
        return result;
      } catch (error) {
        const outcome = outcomeOf(error, timedOut());
        lease.end(outcome);
        if (outcome !== 'unreachable') throw error;
        refused = error;
      }
    }
  };
  const outcomeOf = (error: unknown, timedOut: boolean): CallOutcome | 'cancelled' => {
    if (timedOut) return 'failed';
    if (!(error instanceof Error)) return 'failed';
    if (policyOptions.neverReached(error)) return 'unreachable';
    if (error instanceof AppError || !(error instanceof ConnectError)) return 'answered';
    if (error.code === Code.Canceled) return 'cancelled';
    return failureCodes.has(error.code) && !wasShed(error) ? 'failed' : 'answered';
  };
  const policyOptions: DependencyPolicyOptions = {
    dependency,
    settings,
    logger: options.logger,
    metrics: options.metrics,
    isFailure: (error: Error) =>
      failureCodes.has(codeOf(error) ?? Code.Unknown) && !(error instanceof AppError),
    isTransient: (error: Error) =>
      transientCodes.has(codeOf(error) ?? Code.Unknown) && !(error instanceof AppError),
    shedByDependency: (error: Error) => error instanceof ConnectError && wasShed(error),
    timedOut: (error: Error) => codeOf(error) === Code.DeadlineExceeded,
    neverReached: (error: Error) =>
      codeOf(error) === Code.Unavailable && errorCodes(error).some((code) => unreachedCauses.has(code)),
  };
  const policy = createDependencyPolicy(policyOptions);

  const wrapped: Record<string, unknown> = {};
  for (const method of service.methods) {
    const name = method.localName;
    if (method.methodKind !== 'unary') {
      // Streams are long-lived: no retry or per-attempt timeout, but the caller's deadline holds.
      wrapped[name] = (input: unknown, callOptions?: CallOptions) => {
        assertOutsideTransaction(`gRPC ${dependency}/${method.name}`);
        sync();
        const lease = balancer.pick();
        if (!lease) throw toAppError(noInstance(dependency), dependency, options.caller);
        lease.end('cancelled');
        const stream = clientAt(lease.address)[name]?.(input, {
          ...callOptions,
          timeoutMs: callOptions?.timeoutMs ?? positive(remainingDeadlineMs()),
        }) as AsyncIterable<unknown>;
        return answeredAs(stream, (error) => toAppError(error, dependency, options.caller));
      };
      continue;
    }
    const idempotent = method.idempotency !== MethodOptions_IdempotencyLevel.IDEMPOTENCY_UNKNOWN;
    wrapped[name] = async (input: unknown, callOptions?: CallOptions) => {
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
            return onInstance(
              name,
              (call) =>
                (
                  call(input, {
                    ...callOptions,
                    signal: AbortSignal.any(signals),
                    timeoutMs: positive(timeoutMs),
                  }) as Promise<unknown>
                ).catch((error: unknown) => {
                  throw signals.some((s) => s.aborted) ? error : connectionLost(error);
                }),
              () => signal.aborted,
            );
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
  if (refusedStream(error))
    return new ConnectError(
      error.rawMessage,
      Code.Unavailable,
      error.metadata,
      undefined,
      Object.assign(new Error('stream refused unprocessed'), { code: REFUSED_STREAM, cause: error.cause }),
    );
  const broken =
    error.code === Code.Canceled ||
    (error.code === Code.Aborted &&
      errorCodes(error).some(
        (code) => code === 'ECONNRESET' || code.startsWith('ERR_HTTP2_') || code.startsWith('ERR_STREAM_'),
      ));
  if (!broken) return error;
  return new ConnectError(error.rawMessage, Code.Unavailable, error.metadata, undefined, error.cause);
}

/**
 * A stream an instance refused without processing it (RFC 9113 §8.7): the calls a client opened
 * while the instance's GOAWAY was on its way, as it drains to stop. connect-node reports them as
 * INTERNAL ("Stream closed with error code NGHTTP2_REFUSED_STREAM", from the stream's error), so
 * a release's drained instance answered a few reads with 502s; the call never ran, so even one that
 * is not idempotent goes to the next instance.
 */
function refusedStream(error: ConnectError): boolean {
  let current: unknown = error.cause;
  for (let depth = 0; current instanceof Error && depth < 8; depth += 1) {
    if (/\bNGHTTP2_REFUSED_STREAM\b/.test(current.message)) return true;
    current = current.cause;
  }
  return /\bNGHTTP2_REFUSED_STREAM\b|\bREFUSED_STREAM \(0x7\)/.test(error.rawMessage);
}

/** No instance of the dependency is known (none registered, or all gone): unavailable, never reached. */
const noInstance = (dependency: string) =>
  new ConnectError(
    `no instance of ${dependency} is available`,
    Code.Unavailable,
    undefined,
    undefined,
    Object.assign(new Error(`no instance of ${dependency}`), { code: NO_INSTANCE }),
  );

const positive = (value: number | undefined) =>
  value === undefined ? undefined : Math.max(1, Math.floor(value));

const deadlinePassed = (dependency: string) =>
  new AppError({
    code: `${dependency.toUpperCase()}.DEADLINE_EXCEEDED`,
    kind: 'timeout',
    message: `no time left in the request's deadline to call ${dependency}`,
  });

/**
 * A stream whose failure is an AppError, as a unary call's is: the caller tells a refusal (an
 * unknown key: NOT_FOUND) from a failure by its kind, and the edge answers it with its status
 * instead of a 500. Ending the iteration early still cancels the call (`yield*` passes `return` on).
 */
async function* answeredAs<T>(
  stream: AsyncIterable<T>,
  map: (error: unknown) => AppError,
): AsyncGenerator<T> {
  try {
    yield* stream;
  } catch (error) {
    throw map(error);
  }
}

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

/**
 * The client side of mutual TLS: this workload's certificate, the CA it trusts, and, instead of a
 * host name check (an instance is found by address), a check that the server's SPIFFE id names
 * `peer` in the same trust domain.
 */
function tlsOptions(workload: WorkloadTls, peer: string | undefined) {
  const { cert, key, ca, identity } = workload.current();
  return {
    cert,
    key,
    ca,
    minVersion: 'TLSv1.3' as const,
    checkServerIdentity: (_host: string, certificate: { subjectaltname?: string }) => {
      const server = spiffeIdOfCertificate(certificate.subjectaltname);
      if (!server || server.trustDomain !== identity.trustDomain)
        return new Error(`the server's certificate carries no SPIFFE id of ${identity.trustDomain}`);
      if (peer !== undefined && server.name !== peer)
        return new Error(`the server is ${server.id}, not ${peer}`);
      return undefined;
    },
  };
}
