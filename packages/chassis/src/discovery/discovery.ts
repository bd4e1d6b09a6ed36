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

/**
 * One instance of an HTTP API, as the gRPC client picks one: by the registry's weights (a canary at
 * 5 % gets about 5 % of the reads; a standby at 0 none), and among the canaries when the request
 * asks for them (`x-mercato-canary: always`) and there is one.
 */
export function weightedPick(
  endpoints: Endpoints,
  random: () => number = Math.random,
): (preferCanary?: boolean) => string | undefined {
  return (preferCanary = false) => {
    const weightOf = (address: string) => endpoints.weightOf?.(address) ?? 1;
    const pool = endpoints.current().filter((address) => weightOf(address) > 0);
    if (preferCanary) {
      const canaries = endpoints.current().filter((address) => endpoints.isCanary?.(address));
      if (canaries.length > 0) return canaries[Math.floor(random() * canaries.length)];
    }
    const total = pool.reduce((sum, address) => sum + weightOf(address), 0);
    let point = random() * total;
    for (const address of pool) {
      point -= weightOf(address);
      if (point < 0) return address;
    }
    return pool.at(-1);
  };
}
