import { errorCodes } from '../errors/error-codes.ts';
import type { Endpoints } from '../grpc/grpc-client.ts';
import {
  type CallOutcome,
  type EjectionEvent,
  InstanceBalancer,
  type InstanceLease,
} from '../resilience/instance-balancer.ts';

/** What a name is asked for: its gRPC server or its HTTP API (health, metrics, a read model's JSON). */
export type Protocol = 'grpc' | 'http';

/**
 * How a service finds the services it calls, by name (`catalog`, `order`), never by an address in
 * its own configuration. Three ways, one chosen per process (`MERCATO_DISCOVERY`):
 * - `registry` (embedded mode): the supervisor's registry, followed with a long poll — every ready
 *   instance, its weight and whether it is a canary (registry-watch.ts);
 * - `dns` (Kubernetes): `<name>.<MERCATO_DNS_DOMAIN>` on the platform's fixed ports, one address
 *   per name that the cluster's Service balances (dns-names.ts);
 * - `static` (a service run alone, tests): a list of names and addresses (static-peers.ts).
 */
export interface Discovery {
  readonly mode: 'registry' | 'dns' | 'static';
  /** The instances of `service` that serve `protocol`, followed as they change. */
  endpoints(service: string, protocol: Protocol): Endpoints;
  /** Whether this way of finding services can name `service` at all (static peers list only some). */
  knows(service: string, protocol: Protocol): boolean;
  start(): void;
  /** Resolves once the first answer is in (registry), or after `timeoutMs`. */
  ready(timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The instances of an HTTP API, picked as the gRPC client picks its instances (instance-balancer.ts):
 * by the registry's weights (a canary at 5 % gets about 5 % of the reads; a standby at 0 none), among
 * the canaries when the request asks for them (`x-mercato-canary: always`) and there is one, least
 * outstanding requests first when weights are equal, and with outlier ejection: an instance that
 * refuses a connection, or fails five requests in a row, is left out for a while. The caller ends
 * each lease with how the request went (`httpOutcome`).
 */
export interface HttpInstances {
  /** An instance for the next request, other than those in `tried`; undefined when there is none. */
  pick(options?: { preferCanary?: boolean; tried?: ReadonlySet<string> }): InstanceLease | undefined;
}

export function httpInstances(
  endpoints: Endpoints,
  onEject: (event: EjectionEvent) => void = () => undefined,
): HttpInstances {
  const balancer = new InstanceBalancer();
  balancer.onEject = onEject;
  let known: readonly string[] | undefined;
  return {
    pick({ preferCanary = false, tried } = {}) {
      const now = endpoints.current();
      if (now !== known) {
        known = now;
        balancer.update(now, endpoints.weightOf);
      }
      return balancer.pick(tried, preferCanary ? endpoints.isCanary : undefined);
    },
  };
}

/**
 * Connection errors that mean the request never reached an instance (nothing listens there): safe
 * to send to another. A reset is not among them: the instance may have had the request.
 */
const UNREACHED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND']);

/**
 * How an HTTP exchange with an instance went, for its outlier record: an answer below 500 is an
 * answer (a 404 is the instance working), a 5xx a failure, a connection refused "unreachable" (the
 * code may be on a cause: proxies wrap it), a request that ran out of time a failure, one the caller
 * abandoned says nothing.
 */
export function httpOutcome(
  ended: { status: number } | { error: unknown; aborted: boolean; timedOut?: boolean },
): CallOutcome {
  if ('status' in ended) return ended.status >= 500 ? 'failed' : 'answered';
  if (ended.timedOut) return 'failed';
  if (ended.aborted) return 'cancelled';
  return errorCodes(ended.error).some((code) => UNREACHED.has(code)) ? 'unreachable' : 'failed';
}
