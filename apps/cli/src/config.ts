import path from 'node:path';
import { env, traceSamplingShape } from '@mercato/chassis/config';
import * as z from 'zod';
import { repositoryRoot } from './services.ts';

export const supervisorConfig = z.object({
  MERCATO_DATA_DIR: z.string().min(1).default(path.join(repositoryRoot, '.mercato')),
  /**
   * Below 32768, where no system picks ports for outgoing connections (Linux 32768–60999, macOS
   * and Windows 49152–65535): a port in that range is at times the local end of some connection,
   * and listening on it then fails although nothing listens there.
   */
  MERCATO_PG_PORT: env.port(25432),
  /**
   * `fixed` (default): the ports below, in catalog order. `dynamic`: every service, the gateway and
   * the supervisor's API listen on a port the system picks; each service tells the supervisor where
   * over its IPC channel, and everything is found by name through the registry. The shop's address
   * is printed and kept in `.mercato/run/state.json`.
   */
  MERCATO_PORTS: z.enum(['fixed', 'dynamic'], { error: 'expected fixed or dynamic' }).default('fixed'),
  MERCATO_GATEWAY_PORT: env.port(8080),
  /** Services other than the gateway listen on consecutive ports from here. */
  MERCATO_PORT_BASE: env.port(4001),
  /** Services that serve gRPC do so on consecutive ports from here. */
  MERCATO_GRPC_PORT_BASE: env.port(5001),
  /**
   * `built` (default): each service's esbuild bundle, rebuilt first when stale. `source`: TypeScript
   * through tsx, compiled in every process at start (slower and larger; kept as a baseline).
   */
  MERCATO_RUNTIME: z.enum(['built', 'source'], { error: 'expected built or source' }).default('built'),
  /**
   * V8's young generation per semispace for built services, in MB (0: V8's default, 16). Small
   * services keep little alive; 2 MB semispaces hold each process ~20 MB lower, idle or loaded.
   */
  MERCATO_SEMI_SPACE_MB: env.int({ min: 0, max: 256, default: 2 }),
  /**
   * V8's background threads per built service (`--v8-pool-size`: concurrent GC and compilation; 0:
   * Node's default, 4). Fifteen processes share a laptop's few cores, so four helpers each buy no
   * parallelism; each helper that compiles keeps a malloc arena of its own (measured: 3–4 MB less
   * RSS a service and 6–13 % less CPU to start with one; bench/README.md).
   */
  MERCATO_V8_POOL_SIZE: env.int({ min: 0, max: 64, default: 1 }),
  /**
   * glibc's mmap threshold for every service process, in bytes (`MALLOC_MMAP_THRESHOLD_`; 0: glibc's
   * own, which starts at 128 KiB and rises to the largest block freed, up to 32 MiB, taking the
   * trim threshold to twice that). Fixed, free memory past 128 KiB at the top of each arena goes
   * back to the system; risen, V8's helper thread kept 12–14 MB free in its arena in the gateway,
   * notification and smtp-sink. A `MALLOC_MMAP_THRESHOLD_` of your own wins. Only glibc reads it.
   */
  MERCATO_MALLOC_MMAP_THRESHOLD: env.int({ min: 0, max: 32 * 1024 * 1024, default: 128 * 1024 }),
  /**
   * Extra Node flags for every service process, space-separated (e.g. `--cpu-prof
   * --cpu-prof-dir=/tmp/profiles` to profile them: Node refuses `--cpu-prof` in NODE_OPTIONS).
   */
  MERCATO_NODE_FLAGS: z
    .string()
    .default('')
    .transform((flags) => flags.split(/\s+/).filter((flag) => flag !== ''))
    .refine((flags) => flags.every((flag) => flag.startsWith('--')), {
      error: 'expected Node flags, each starting with --',
    }),
  /**
   * The supervisor's own HTTP API (process control, traces, logs; the ops console reaches it through
   * the gateway), on loopback. Unset: the port just below MERCATO_PORT_BASE (4000 by default).
   */
  MERCATO_SUPERVISOR_PORT: env.int({ min: 1, max: 32767, default: 0 }),
  /** Services export their spans to the supervisor (OTLP/HTTP), which keeps recent traces for the console. */
  MERCATO_TRACES: env.bool(true),
  /** The supervisor's span store: its bound in MB and the latency over which a trace is always kept. */
  MERCATO_TRACE_STORE_MB: env.int({ min: 1, max: 4096, default: 64 }),
  MERCATO_TRACE_SLOW_MS: env.int({ min: 1, max: 600_000, default: 500 }),
  /**
   * The share of the rest kept (MERCATO_TRACE_SAMPLE_PERCENT) and each service's budget of new
   * traces: the services read them from the environment they inherit, and they are checked here as
   * there, so a bad value stops `start`.
   */
  ...traceSamplingShape,
  /** The supervisor's searchable store of the merged logs, in MB. */
  MERCATO_LOG_STORE_MB: env.int({ min: 1, max: 4096, default: 32 }),
  /**
   * Instances per service, e.g. `catalog=3,order=2` (`npm start -- --replicas catalog=3` sets it):
   * each its own process on its own ports, sharing its service's database; callers balance over them.
   */
  MERCATO_REPLICAS: z.string().default(''),
  /**
   * Also run the legacy monolith and the change data capture from its database (`--legacy`), for the
   * strangler-fig migration (docs/strangler-fig.md). Needs `wal_level=logical` on an external server.
   */
  MERCATO_LEGACY: env.bool(false),
  /**
   * `catalog=1..4,order=1..2` (or `--autoscale`): services the supervisor scales between those
   * counts by their CPU per instance (docs/releases.md#autoscaling).
   */
  MERCATO_AUTOSCALE: z.string().default(''),
  /** Add an instance when the mean CPU per instance stays at or above this % of one core… */
  MERCATO_AUTOSCALE_UP_CPU_PERCENT: env.int({ min: 1, max: 400, default: 60 }),
  /** …remove one when it stays at or below this %. */
  MERCATO_AUTOSCALE_DOWN_CPU_PERCENT: env.int({ min: 0, max: 399, default: 15 }),
  /** How often the autoscaler samples; up after 3 samples in a row, down after 8. */
  MERCATO_AUTOSCALE_INTERVAL_MS: env.int({ min: 200, max: 60_000, default: 2_000 }),
  /** No change within this long after the last one. */
  MERCATO_AUTOSCALE_COOLDOWN_MS: env.int({ min: 0, max: 600_000, default: 10_000 }),
  /**
   * Mutual TLS between the services (`--mtls`): the supervisor's CA (`<data dir>/tls`, its key 0600)
   * gives each service a certificate proving `spiffe://<trust domain>/ns/embedded/sa/<service>`;
   * every gRPC server asks callers for one and each call is authorized by MERCATO_POLICY_FILE
   * (docs/security.md#service-identity).
   */
  MERCATO_MTLS: env.bool(false),
  /**
   * The gateway's certificate when the edge serves TLS (the gateway reads it and GATEWAY_TLS_KEY_FILE
   * itself): the supervisor then reaches the gateway over HTTPS and accepts exactly this certificate there.
   */
  GATEWAY_TLS_CERT_FILE: z.string().min(1).optional(),
  /** How long a service's certificate is valid; renewed in place when two thirds have passed. */
  MERCATO_CERT_TTL_S: env.int({ min: 15, max: 30 * 24 * 3600, default: 24 * 3600 }),
  /** Who may call which service's methods, with MERCATO_MTLS. Default: deploy/policy.yaml. */
  MERCATO_POLICY_FILE: z
    .string()
    .min(1)
    .default(path.join(repositoryRoot, 'deploy', 'policy.yaml')),
  MERCATO_READY_TIMEOUT_MS: env.int({ min: 1_000, max: 600_000, default: 60_000 }),
  /** The embedded PostgreSQL's own log lines on the console too. */
  MERCATO_DEBUG_PG: env.bool(false),
  /** Load pg_stat_statements in the embedded PostgreSQL (bench/idle reads which role runs what). */
  MERCATO_PG_STAT_STATEMENTS: env.bool(false),
  LOG_LEVEL: env.logLevel(),
  /** Infra mode: an admin connection to an existing PostgreSQL. PG* variables work too. */
  DATABASE_URL: env.optionalUrl(['postgres', 'postgresql']),
  PGHOST: z.string().optional(),
  /** The bus: the PostgreSQL message store (default) or NATS JetStream at NATS_URL. */
  MERCATO_BUS: z.enum(['postgres', 'nats'], { error: 'expected postgres or nats' }).default('postgres'),
  NATS_URL: env.optionalUrl(['nats', 'tls']),
  /** Where notification sends mail (any SMTP server); the SMTP sink the supervisor runs when unset. */
  SMTP_URL: env.optionalUrl(['smtp', 'smtps']),
  /** Prefix for databases and roles on a shared server, e.g. `mercato_`. */
  MERCATO_DB_PREFIX: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,20}$/, { error: 'expected lowercase letters, digits and _' })
    .default(''),
});

export type SupervisorConfig = z.output<typeof supervisorConfig>;
