import * as z from 'zod';
import { policySetting } from '../rate-limit/policy-setting.ts';

const name = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,62}$/, { error: 'expected lower-case letters, digits and -' });
const httpMethods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

const backend = z
  .strictObject({
    /** For metrics, logs and error codes; defaults to the service's name, else the cluster's. */
    name: name.optional(),
    /** A service found by name (service discovery), with every instance it has. */
    service: name.optional(),
    /** A fixed address, for what is not a service of the shop (a legacy system, a test double). */
    url: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).optional(),
    /** Share of the cluster's traffic relative to the other backends; 0 takes it out of rotation. */
    weight: z.number().int().min(0).max(10_000).default(1),
  })
  .refine((b) => (b.service === undefined) !== (b.url === undefined), {
    error: 'a backend needs either service (a name) or url (an address), not both',
  });

const cluster = z
  .strictObject({
    /** grpc: the services' gRPC servers; http: plain HTTP backends proxied as they are. */
    protocol: z.enum(['grpc', 'http']),
    backends: z.array(backend).min(1),
  })
  .refine((c) => c.backends.some((b) => b.weight > 0), { error: 'needs a backend with weight > 0' })
  .refine((c) => new Set(c.backends.map((b) => b.name ?? b.service ?? b.url)).size === c.backends.length, {
    error: 'backend names must be unique within a cluster',
  });

const match = z
  .strictObject({
    methods: z.array(z.enum(httpMethods)).min(1).optional(),
    /** A route template exactly as registered, e.g. `/api/customers/:id/dashboard`. */
    path: z.string().startsWith('/').optional(),
    /** Any path starting with this, e.g. `/api/catalog/`. */
    path_prefix: z.string().startsWith('/').optional(),
    /** Host without port; `*.example.com` matches any subdomain. */
    host: z.string().min(1).optional(),
    /** Header name → exact value, e.g. `{ "x-mercato-canary": "always" }`. */
    headers: z.record(z.string().regex(/^[A-Za-z0-9-]+$/), z.string()).optional(),
  })
  .refine((m) => !(m.path && m.path_prefix), { error: 'use path or path_prefix, not both' });

const route = z.strictObject({
  name,
  match,
  /** Service → cluster, for this route only (e.g. send catalog calls to `catalog-canary`). */
  clusters: z.record(name, name).default({}),
  /** Forward the request as it is to this http cluster instead of a handler of ours. */
  proxy: name.optional(),
  /**
   * With `proxy`: the start of the path the backend does not know, cut before forwarding and put
   * back on the `Location` it answers (`/legacy` sends `/legacy/api/x` on as `/api/x`).
   */
  strip_prefix: z
    .string()
    .regex(/^(\/[a-z0-9-]+)+$/, { error: 'expected /segments of lower-case letters, digits and -' })
    .optional(),
  /**
   * For a handler of ours that has two implementations of one capability (the monolith's and the
   * services', strangler fig): who answers. control: the old one; shadow: both, the old one's answer
   * returned and the other compared; candidate: the new one for `candidate_percent` of subjects,
   * the rest in shadow. Differences: `experiment_runs_total`, the gateway's `/admin/experiments`.
   */
  experiment: z
    .strictObject({
      mode: z.enum(['control', 'shadow', 'candidate']),
      candidate_percent: z.number().int().min(0).max(100).default(0),
    })
    .optional(),
  /** required: a valid bearer token before anything else runs (401), and one of `roles` if given (403). */
  auth: z.enum(['optional', 'required']).default('optional'),
  roles: z.array(z.string().min(1)).min(1).optional(),
  /** Total time for the request at the gateway; the upstream calls get what is left. */
  timeout_ms: z.number().int().min(50).max(60_000).optional(),
  /** Attempts for idempotent upstream calls made by this route (1 = no retry). */
  retry: z.strictObject({ attempts: z.number().int().min(1).max(5) }).optional(),
  rate_limit: z
    .strictObject({
      policy: policySetting,
      /** user: the verified token's subject; api_key: a configured key's client; ip: client IP. */
      key: z.enum(['ip', 'user', 'api_key']).default('ip'),
    })
    .optional(),
});

/** Services the gateway's own handlers call; each needs a gRPC cluster of the same name. */
export const requiredGrpcClusters = [
  'catalog',
  'identity',
  'customer',
  'pricing',
  'inventory',
  'order',
  'fulfillment',
  'notification',
] as const;

export const routeTableDocument = z
  .strictObject({
    clusters: z.record(name, cluster),
    routes: z.array(route),
  })
  .superRefine((doc, ctx) => {
    const problem = (path: (string | number)[], message: string) =>
      ctx.addIssue({ code: 'custom', path, message });
    for (const service of requiredGrpcClusters)
      if (doc.clusters[service]?.protocol !== 'grpc')
        problem(['clusters', service], `a grpc cluster named ${service} is required`);
    const seen = new Set<string>();
    doc.routes.forEach((r, index) => {
      if (seen.has(r.name)) problem(['routes', index, 'name'], `route ${r.name} is defined twice`);
      seen.add(r.name);
      for (const [service, target] of Object.entries(r.clusters)) {
        if (doc.clusters[target]?.protocol !== doc.clusters[service]?.protocol)
          problem(
            ['routes', index, 'clusters', service],
            `cluster ${target} is not a cluster like ${service}`,
          );
      }
      if (r.roles && r.auth !== 'required')
        problem(['routes', index, 'roles'], 'roles need "auth": "required"');
      if (r.proxy && doc.clusters[r.proxy]?.protocol !== 'http')
        problem(['routes', index, 'proxy'], `proxy needs an http cluster; ${r.proxy} is not one`);
      if (r.experiment && r.proxy)
        problem(['routes', index, 'experiment'], 'a proxy route never reaches a handler: no experiment');
      if (r.strip_prefix !== undefined && !r.proxy)
        problem(['routes', index, 'strip_prefix'], 'strip_prefix needs "proxy"');
      // Every path the route takes must start with it, or the cut would take part of another segment.
      if (
        r.strip_prefix !== undefined &&
        !r.match.path_prefix?.toLowerCase().startsWith(`${r.strip_prefix}/`)
      )
        problem(
          ['routes', index, 'strip_prefix'],
          `strip_prefix needs a match.path_prefix that starts with ${r.strip_prefix}/`,
        );
    });
  });

export type RouteTableDocument = z.output<typeof routeTableDocument>;
export type ClusterSpec = RouteTableDocument['clusters'][string];
export type RouteSpec = RouteTableDocument['routes'][number];
