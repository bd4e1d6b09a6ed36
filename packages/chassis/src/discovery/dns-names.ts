import type { Endpoints } from '../grpc/grpc-client.ts';
import type { Discovery, Protocol } from './discovery.ts';

export interface DnsNamesSettings {
  /** Appended to every name: `mercato.svc.cluster.local` → `catalog.mercato.svc.cluster.local`; empty: the bare name. */
  domain: string;
  grpcPort: number;
  httpPort: number;
}

/**
 * Names as DNS resolves them (Kubernetes): `http://<name>.<domain>:<port>`, with every service on
 * the same ports. One address per name: the cluster's Service spreads connections over the pods, and
 * HTTP/2 keeps one connection per client, so per-call balancing over pods is the mesh's (or a
 * headless Service's) business, not this resolver's.
 */
export class DnsNames implements Discovery {
  readonly mode = 'dns';
  readonly #settings: DnsNamesSettings;

  constructor(settings: DnsNamesSettings) {
    this.#settings = settings;
  }

  endpoints(service: string, protocol: Protocol): Endpoints {
    const { domain, grpcPort, httpPort } = this.#settings;
    const host = domain ? `${service}.${domain}` : service;
    const fixed = [`http://${host}:${protocol === 'grpc' ? grpcPort : httpPort}`];
    return { current: () => fixed };
  }

  knows(): boolean {
    return true;
  }

  start(): void {}

  async ready(): Promise<void> {}

  async stop(): Promise<void> {}
}
