import type { Endpoints } from '../grpc/grpc-client.ts';

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

/** One instance of an HTTP API, picked round-robin over what `endpoints` lists now. */
export function roundRobin(endpoints: Endpoints): () => string | undefined {
  let next = 0;
  return () => {
    const now = endpoints.current().filter((address) => (endpoints.weightOf?.(address) ?? 1) > 0);
    if (now.length === 0) return undefined;
    next = (next + 1) % now.length;
    return now[next];
  };
}
