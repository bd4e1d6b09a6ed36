import * as z from 'zod';
import type { Endpoints } from '../grpc/grpc-client.ts';
import type { Discovery, Protocol } from './discovery.ts';

/** `name` or `name/http` → addresses (several instances separated by spaces). */
export type PeerTable = ReadonlyMap<string, readonly string[]>;

const entry = /^([a-z][a-z0-9-]{0,62})(\/(grpc|http))?=(.+)$/;

/** `http(s)://host:port` as its origin, or undefined for anything else (a path, a query, credentials, no port). */
function origin(text: string): string | undefined {
  if (!/^https?:\/\/[^/?#@\s]+:\d{1,5}\/?$/.test(text)) return undefined;
  try {
    return new URL(text).origin;
  } catch {
    return undefined;
  }
}

/**
 * `MERCATO_PEERS`: `customer=http://127.0.0.1:5001,identity/http=http://127.0.0.1:4000`. A bare name
 * is its gRPC server; `/http` names its HTTP API. Several instances of one name: addresses separated
 * by spaces. For a service run alone (tests, a fixed set of hosts); the supervisor and Kubernetes
 * never set it.
 */
export const peerTable = () =>
  z
    .string()
    .optional()
    .transform((value, ctx): PeerTable | undefined => {
      if (value === undefined || value.trim() === '') return undefined;
      const table = new Map<string, string[]>();
      for (const item of value
        .split(',')
        .map((part) => part.trim())
        .filter(Boolean)) {
        const match = entry.exec(item);
        const key = match ? `${match[1]}/${match[3] ?? 'grpc'}` : '';
        const addresses = (match?.[4]?.split(' ').filter(Boolean) ?? []).map(origin);
        const problem = !match
          ? 'is not name[/http]=http://host:port'
          : addresses.length === 0 || addresses.includes(undefined)
            ? 'needs http(s)://host:port addresses, nothing after the port'
            : table.has(key)
              ? `names ${key.replace('/grpc', '')} a second time`
              : undefined;
        if (problem) {
          ctx.addIssue({
            code: 'custom',
            message: `expected name[/http]=http://host:port entries separated by commas; ${JSON.stringify(item.slice(0, 80))} ${problem}`,
          });
          return z.NEVER;
        }
        table.set(key, addresses as string[]);
      }
      return table;
    });

/** Names from a fixed table; a name it does not list has no instance (its calls fail UNAVAILABLE). */
export class StaticPeers implements Discovery {
  readonly mode = 'static';
  readonly #table: PeerTable;

  constructor(table: PeerTable) {
    this.#table = table;
  }

  endpoints(service: string, protocol: Protocol): Endpoints {
    const fixed = this.#table.get(`${service}/${protocol}`) ?? [];
    return { current: () => fixed };
  }

  knows(service: string, protocol: Protocol): boolean {
    return this.#table.has(`${service}/${protocol}`);
  }

  start(): void {}

  async ready(): Promise<void> {}

  async stop(): Promise<void> {}
}
