import * as z from 'zod';
import { peerTable } from '../discovery/static-peers.ts';
import { defaultPolicySettings } from '../resilience/dependency-policy.ts';
import { traceRootsPerSecond, traceSamplePercent } from '../telemetry/trace-sampling-limits.ts';

/**
 * Builders for environment variables. Each one says in its message what it expected, so that a bad
 * value stops the process with a line a person can act on.
 */
const integer = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+$/, { error: `expected an integer from ${min} to ${max}` })
    .transform(Number)
    .pipe(
      z
        .number()
        .min(min, { error: `expected an integer from ${min} to ${max}` })
        .max(max, {
          error: `expected an integer from ${min} to ${max}`,
        }),
    );

export const env = {
  port: (fallback: number) =>
    integer(0, 65535)
      .optional()
      .transform((value) => value ?? fallback),
  int: (options: { min?: number; max?: number; default: number }) =>
    integer(options.min ?? 0, options.max ?? Number.MAX_SAFE_INTEGER)
      .optional()
      .transform((value) => value ?? options.default),
  bool: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'expected true or false' })
      .optional()
      .transform((value) => (value === undefined ? fallback : ['true', '1', 'yes'].includes(value))),
  string: (fallback?: string) =>
    fallback === undefined
      ? z.string().min(1, { error: 'must not be empty' })
      : z.string().min(1).default(fallback),
  url: (protocols: readonly string[], fallback?: string) => {
    const schema = z.string({ error: `required (expected a ${protocols.join(' or ')} URL)` }).refine(
      (value) => {
        try {
          return protocols.includes(new URL(value).protocol.replace(/:$/, ''));
        } catch {
          return false;
        }
      },
      { error: `expected a ${protocols.join(' or ')} URL` },
    );
    return fallback === undefined ? schema : schema.default(fallback);
  },
  optionalUrl: (protocols: readonly string[]) =>
    z
      .string()
      .refine(
        (value) => {
          try {
            return protocols.includes(new URL(value).protocol.replace(/:$/, ''));
          } catch {
            return false;
          }
        },
        { error: `expected a ${protocols.join(' or ')} URL` },
      )
      .optional(),
  /** A comma-separated list, trimmed, empty items dropped. */
  list: (fallback: string) =>
    z
      .string()
      .default(fallback)
      .transform((value) =>
        value
          .split(',')
          .map((item) => item.trim())
          .filter(Boolean),
      ),
  logLevel: () =>
    z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
        error: 'expected one of fatal, error, warn, info, debug, trace, silent',
      })
      .default('info'),
};

/**
 * How traces are sampled, read by every service and checked by the supervisor too (whose span store
 * keeps the same share): new traces a second a process records in full (bursts of ten), and the
 * share of trace ids recorded beyond them and kept by the span store
 * (telemetry/trace-budget-sampler.ts, which reads both before a service's schema runs).
 */
export const traceSamplingShape = {
  MERCATO_TRACE_ROOTS_PER_SECOND: env.int({ min: 0, ...traceRootsPerSecond }),
  MERCATO_TRACE_SAMPLE_PERCENT: env.int({ min: 0, ...traceSamplePercent }),
};

/** What every service reads, whatever it does. Services extend it with their own variables. */
export const serviceConfigShape = {
  HOST: z.string().min(1).default('127.0.0.1'),
  /** 0: any free port (it is logged). The supervisor assigns every service its port. */
  PORT: env.port(0),
  LOG_LEVEL: env.logLevel(),
  SHUTDOWN_TIMEOUT_MS: env.int({ min: 100, max: 120_000, default: 10_000 }),
  /**
   * PostgreSQL statements with parameters prepared once per connection (db/statement-names.ts);
   * `false`: every one parsed and planned on each call, as behind a PgBouncer in transaction mode
   * older than 1.21, which does not keep a session's prepared statements.
   */
  DATABASE_PREPARED_STATEMENTS: env.bool(true),
  OTEL_EXPORTER_OTLP_ENDPOINT: env.optionalUrl(['http', 'https']),
  ...traceSamplingShape,
  /** Opens `/admin/*` to `Authorization: Bearer <this>`; the supervisor makes one per run. */
  MERCATO_ADMIN_TOKEN: z
    .string()
    .regex(/^[A-Za-z0-9_-]{24,256}$/, { error: 'expected 24 to 256 URL-safe characters' })
    .optional(),
  /**
   * Opens `/admin/*` to access tokens with the admin role from an identity provider outside the
   * shop, checked against this JWKS. Unset: identity's JWKS, found by name like any dependency.
   */
  ADMIN_JWKS_URL: env.optionalUrl(['http', 'https']),
  /**
   * How the services this one calls are found by name (discovery.ts): `registry` (the supervisor's,
   * at MERCATO_REGISTRY_URL), `dns` (Kubernetes: `<name>.<MERCATO_DNS_DOMAIN>`) or `static`
   * (MERCATO_PEERS). Default: registry when MERCATO_REGISTRY_URL is set, else static (no name known
   * without MERCATO_PEERS); dns only when chosen.
   */
  MERCATO_DISCOVERY: z
    .enum(['registry', 'dns', 'static'], { error: 'expected registry, dns or static' })
    .optional(),
  /** The supervisor's service registry (embedded mode; with MERCATO_ADMIN_TOKEN). */
  MERCATO_REGISTRY_URL: env.optionalUrl(['http', 'https']),
  /** With `dns`: the domain after each name (`mercato.svc.cluster.local`); empty: bare names. */
  MERCATO_DNS_DOMAIN: z
    .string()
    .regex(/^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$|^$/, {
      error: 'expected a DNS domain such as mercato.svc.cluster.local',
    })
    .default(''),
  /** With `dns`: the port every service serves gRPC on, and HTTP on. */
  MERCATO_DNS_GRPC_PORT: env.port(50051),
  MERCATO_DNS_HTTP_PORT: env.port(8080),
  /** With `static`: `name=http://host:port` (gRPC) and `name/http=http://host:port` entries, comma-separated. */
  MERCATO_PEERS: peerTable(),
  /**
   * `standby`: the instance serves calls sent to it but takes no deliveries, publishes no outbox
   * and runs no duties (timers, workers) until made active (a blue-green release's other colour;
   * the supervisor switches it over its IPC channel).
   */
  MERCATO_ROLE: z.enum(['active', 'standby'], { error: 'expected active or standby' }).default('active'),
  JWT_ISSUER: env.string('mercato-identity'),
  JWT_AUDIENCE: env.string('mercato'),
  /**
   * Mutual TLS between services (the supervisor issues these in embedded mode): this workload's
   * certificate (its URI SAN is its SPIFFE id), its key, and the CA whose certificates it trusts. All
   * three or none; the files are followed as they are renewed.
   */
  TLS_CERT_FILE: z.string().min(1).optional(),
  TLS_KEY_FILE: z.string().min(1).optional(),
  TLS_CA_FILE: z.string().min(1).optional(),
  /**
   * The HTTP port too (health, metrics, the API, `/admin/*`) only over TLS with a client certificate
   * of the workload CA: a port inside the mesh. Needs TLS_*. Off for the public edge (the gateway)
   * and in Kubernetes, where the mesh's sidecars do it.
   */
  HTTP_MUTUAL_TLS: env.bool(false),
  /** The call policy (deploy/policy.yaml): who may call which of this service's methods. Needs TLS. */
  MERCATO_POLICY_FILE: z.string().min(1).optional(),
};

export const databaseConfigShape = {
  DATABASE_URL: env.url(['postgres', 'postgresql']),
  DATABASE_POOL_MAX: env.int({ min: 1, max: 200, default: 10 }),
};

/** A service that serves gRPC: its cleartext HTTP/2 port (0: any free port, logged). */
export const grpcServerConfigShape = () => ({
  GRPC_PORT: env.port(0),
  /** A deliberately bad version: this share of its gRPC calls fail INTERNAL (fault-interceptor.ts). */
  MERCATO_FAULT_ERROR_PERCENT: env.int({ min: 0, max: 100, default: 0 }),
  /** A deliberately slow version: this much added to each of its gRPC calls (ms). */
  MERCATO_FAULT_LATENCY_MS: env.int({ min: 0, max: 60_000, default: 0 }),
});

/**
 * Policy for this service's outgoing gRPC calls (ARCHITECTURE §6); each dependency gets its own
 * breaker and bulkhead with these settings.
 */
export const rpcClientConfigShape = (defaults: {
  timeoutMs: number;
  /** The gateway sheds at once (`adaptive`); services keep the bulkhead and its queue (`fixed`). */
  concurrencyLimit?: 'fixed' | 'adaptive';
}) => {
  const d = defaultPolicySettings;
  return {
    RPC_TIMEOUT_MS: env.int({ min: 1, max: 120_000, default: defaults.timeoutMs }),
    RPC_RETRY_ATTEMPTS: env.int({ min: 1, max: 10, default: d.retryAttempts }),
    RPC_RETRY_INITIAL_DELAY_MS: env.int({ min: 0, max: 60_000, default: d.retryInitialDelayMs }),
    RPC_RETRY_MAX_DELAY_MS: env.int({ min: 0, max: 600_000, default: d.retryMaxDelayMs }),
    RPC_BREAKER_THRESHOLD: env.int({ min: 1, max: 1_000, default: d.breakerThreshold }),
    RPC_BREAKER_WINDOW_MS: env.int({ min: 1, max: 3_600_000, default: d.breakerWindowMs }),
    RPC_BREAKER_OPEN_MS: env.int({ min: 1, max: 3_600_000, default: d.breakerOpenMs }),
    RPC_BREAKER_MAX_OPEN_MS: env.int({ min: 1, max: 3_600_000, default: d.breakerMaxOpenMs }),
    RPC_BREAKER_REFUSED_PROBE_MS: env.int({ min: 1, max: 3_600_000, default: d.breakerRefusedProbeMs }),
    RPC_BREAKER_TRIAL_CALLS: env.int({ min: 1, max: 100, default: d.breakerTrialCalls }),
    RPC_BULKHEAD_LIMIT: env.int({ min: 1, max: 10_000, default: d.bulkheadLimit }),
    RPC_BULKHEAD_QUEUE: env.int({ min: 0, max: 100_000, default: d.bulkheadQueue }),
    RPC_RECONNECT_WAIT_MS: env.int({ min: 0, max: 60_000, default: d.reconnectWaitMs }),
    RPC_CONCURRENCY_LIMIT: z
      .enum(['fixed', 'adaptive'], { error: 'expected fixed or adaptive' })
      .default(defaults.concurrencyLimit ?? d.concurrencyLimit),
    RPC_LIMIT_INITIAL: env.int({ min: 1, max: 100_000, default: d.limitInitial }),
    RPC_LIMIT_MIN: env.int({ min: 1, max: 100_000, default: d.limitMin }),
    RPC_LIMIT_MAX: env.int({ min: 1, max: 100_000, default: d.limitMax }),
  };
};
