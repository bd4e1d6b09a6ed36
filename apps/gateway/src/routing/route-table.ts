import type { AsyncRunSettings } from '@mercato/chassis';
import type { RateLimitPolicy } from '../rate-limit/rate-limit-policy.ts';
import type { RouteSpec, RouteTableDocument } from './route-table.schema.ts';

/** What routing looks at in a request. */
export interface RequestFacts {
  method: string;
  /** The canonical, decoded path without the query string (`requestPath`). */
  path: string;
  /** The template of the handler that serves it, e.g. `/api/customers/:id/dashboard`. */
  template: string | undefined;
  /** Host without port. */
  host: string | undefined;
  header: (name: string) => string | undefined;
}

/** Where a cluster's traffic goes: a service found by name, or a fixed address. */
export interface Backend {
  name: string;
  /** Found by name (its instances as discovery lists them). */
  service: string | undefined;
  /** A fixed address (a system outside the shop). */
  url: string | undefined;
  weight: number;
}

export interface Cluster {
  name: string;
  protocol: 'grpc' | 'http';
  backends: Backend[];
}

export type RateLimitKey = 'ip' | 'user' | 'api_key';

export interface Route {
  name: string;
  /** A verified token is needed before the request goes anywhere; with `roles`, one of them. */
  auth: { required: boolean; roles: readonly string[] };
  timeoutMs: number | undefined;
  retryAttempts: number | undefined;
  rateLimit: { policy: RateLimitPolicy; key: RateLimitKey } | undefined;
  /** The http cluster this route forwards to, when it is a plain proxy route. */
  proxy: Cluster | undefined;
  /** Cut from the path before it is forwarded (and put back on a `Location` answered). */
  stripPrefix: string | undefined;
  /** Who answers a handler with two implementations (see the schema's `experiment`). */
  experiment: Omit<AsyncRunSettings, 'subject'> | undefined;
  /** The cluster that serves `service` on this route (the route's override or the service's own). */
  clusterFor: (service: string) => Cluster | undefined;
}

const startsWithIgnoringCase = (text: string, prefix: string): boolean =>
  text.length >= prefix.length && text.slice(0, prefix.length).toLowerCase() === prefix.toLowerCase();

const matches = (spec: RouteSpec['match'], facts: RequestFacts): boolean => {
  if (spec.methods && !spec.methods.some((m) => m === facts.method)) return false;
  if (spec.path !== undefined && spec.path !== facts.template) return false;
  // Case-insensitive, so a policy covers whatever an upstream that ignores case would act on; for
  // our own (case-sensitive) routes it only means a policy is applied before their 404.
  if (spec.path_prefix !== undefined && !startsWithIgnoringCase(facts.path, spec.path_prefix)) return false;
  if (spec.host !== undefined) {
    const host = facts.host?.toLowerCase() ?? '';
    const wanted = spec.host.toLowerCase();
    const ok = wanted.startsWith('*.') ? host.endsWith(wanted.slice(1)) : host === wanted;
    if (!ok) return false;
  }
  for (const [name, value] of Object.entries(spec.headers ?? {}))
    if (facts.header(name.toLowerCase()) !== value) return false;
  return true;
};

/**
 * The gateway's routing table: ordered routes (first match wins) and named clusters of weighted
 * backends. Immutable; a reload builds a new one and swaps it in whole, so a request sees one
 * version from start to end.
 */
export class RouteTable {
  readonly version: number;
  /** The table as read (variables put in), for operators: `GET /admin/routing-table`. */
  readonly document: RouteTableDocument;
  readonly clusters: ReadonlyMap<string, Cluster>;
  readonly #routes: { spec: RouteSpec; route: Route }[];
  /** What a request no route names gets: default clusters, no limit, the gateway's deadline. */
  readonly fallback: Route;

  constructor(document: RouteTableDocument, version: number) {
    this.version = version;
    this.document = document;
    this.clusters = new Map(
      Object.entries(document.clusters).map(([name, spec]) => [
        name,
        {
          name,
          protocol: spec.protocol,
          backends: spec.backends.map((b) => ({
            name: b.name ?? b.service ?? name,
            service: b.service,
            url: b.url,
            weight: b.weight,
          })),
        },
      ]),
    );
    this.#routes = document.routes.map((spec) => ({ spec, route: this.#compile(spec) }));
    this.fallback = this.#compile({ name: 'unmatched', match: {}, clusters: {}, auth: 'optional' });
  }

  /** The first route whose match holds; requests no route names get defaults and no limit. */
  match(facts: RequestFacts): Route {
    return this.#routes.find(({ spec }) => matches(spec.match, facts))?.route ?? this.fallback;
  }

  #compile(spec: RouteSpec): Route {
    const rateLimit = spec.rate_limit?.policy
      ? { policy: spec.rate_limit.policy, key: spec.rate_limit.key }
      : undefined;
    return {
      name: spec.name,
      auth: { required: spec.auth === 'required', roles: spec.roles ?? [] },
      timeoutMs: spec.timeout_ms,
      retryAttempts: spec.retry?.attempts,
      rateLimit,
      proxy: spec.proxy === undefined ? undefined : this.clusters.get(spec.proxy),
      stripPrefix: spec.strip_prefix,
      experiment: spec.experiment && {
        mode: spec.experiment.mode,
        candidatePercent: spec.experiment.candidate_percent,
      },
      clusterFor: (service) => this.clusters.get(spec.clusters[service] ?? service),
    };
  }
}

/** One backend of the cluster, chosen with probability weight / total weight. */
export function pickBackend(cluster: Cluster, random: () => number = Math.random): Backend {
  const total = cluster.backends.reduce((sum, b) => sum + b.weight, 0);
  let point = random() * total;
  for (const backend of cluster.backends) {
    if (backend.weight === 0) continue;
    point -= backend.weight;
    if (point < 0) return backend;
  }
  // Only reached through floating-point rounding at the very top of the range.
  return cluster.backends.findLast((b) => b.weight > 0) ?? (cluster.backends[0] as Backend);
}
