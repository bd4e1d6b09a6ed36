import type { DescService } from '@bufbuild/protobuf';
import type { MessageContract } from '@mercato/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { Gauge } from 'prom-client';
import type * as z from 'zod';
import { createAuthenticator } from './auth/token-verifier.ts';
import {
  authorizationInterceptor,
  type CallAuthorizer,
  loadCallAuthorizer,
} from './authorization/call-authorizer.ts';
import { type CustomerAccess, customerAccess } from './authorization/customer-access.ts';
import { ConfigError, loadConfig } from './config/load-config.ts';
import { createPool, type Pool, pingDatabase } from './db/database.ts';
import { migrate } from './db/migrate.ts';
import { prepareStatements } from './db/traced-client.ts';
import type { Discovery } from './discovery/discovery.ts';
import { DnsNames } from './discovery/dns-names.ts';
import { RegistryWatch } from './discovery/registry-watch.ts';
import { type PeerTable, StaticPeers } from './discovery/static-peers.ts';
import { createGrpcClient, type GrpcClient, staticEndpoints } from './grpc/grpc-client.ts';
import { createGrpcServer, type GrpcRoutes, type GrpcServer } from './grpc/grpc-server.ts';
import { adminGuardSettings, createAdminGuard, identityJwks } from './http/admin-guard.ts';
import { createHttpServer, type HttpApp, type HttpServerSettings } from './http/create-http-server.ts';
import { type HealthState, type ReadinessCheck, registerHealthRoutes } from './http/health-routes.ts';
import { type DocsSettings, registerOpenApiDocs } from './http/openapi-docs.ts';
import { createLogger, type Logger } from './logging/create-logger.ts';
import type { ConsumerDefinition } from './messaging/message-consumer.ts';
import type { Outbox } from './messaging/outbox.ts';
import {
  createServiceMessaging,
  type MessagingConfig,
  type ServiceMessaging,
} from './messaging/service-messaging.ts';
import { createServiceMetrics, type ServiceMetrics } from './metrics/service-metrics.ts';
import type { PolicySettings } from './resilience/dependency-policy.ts';
import { policySettingsFrom, type RpcClientConfig } from './resilience/policy-settings.ts';
import { stopTracing } from './telemetry/tracing-sdk.ts';
import { loadServerCertificate, type ServerCertificateFiles } from './tls/server-certificate.ts';
import { presentWorkloadCertificate } from './tls/workload-https.ts';
import { loadWorkloadTls, type WorkloadTls } from './tls/workload-tls.ts';

/** What the chassis itself reads from every service's config (see `serviceConfigShape`). */
export interface ChassisConfig {
  HOST: string;
  PORT: number;
  LOG_LEVEL: string;
  SHUTDOWN_TIMEOUT_MS: number;
  DATABASE_PREPARED_STATEMENTS?: boolean;
  OTEL_EXPORTER_OTLP_ENDPOINT?: string | undefined;
  MERCATO_ADMIN_TOKEN?: string | undefined;
  ADMIN_JWKS_URL?: string | undefined;
  JWT_ISSUER?: string;
  JWT_AUDIENCE?: string;
  MERCATO_ROLE?: ServiceRole;
  TLS_CERT_FILE?: string | undefined;
  TLS_KEY_FILE?: string | undefined;
  TLS_CA_FILE?: string | undefined;
  HTTP_MUTUAL_TLS?: boolean;
  MERCATO_POLICY_FILE?: string | undefined;
}

/**
 * `active`: the instance does all its work. `standby` (a blue-green release's other colour): it
 * answers calls sent to it, but takes no deliveries, publishes no outbox and runs no duties.
 */
export type ServiceRole = 'active' | 'standby';

/**
 * Work only an active instance does, besides consuming and relaying: a timer that fires saga steps,
 * a worker that ships parcels. Started when the instance is (or becomes) active, stopped when it
 * stands by or stops.
 */
export interface Duty {
  name: string;
  start: () => void;
  stop: () => Promise<void>;
}

export interface DatabaseConfig {
  DATABASE_URL: string;
  DATABASE_POOL_MAX: number;
}

/** What every service is set up with, whatever it uses. */
export interface BaseServiceContext<Config> {
  config: Config;
  logger: Logger;
  metrics: ServiceMetrics;
  /**
   * A client for one dependency's gRPC service, with its own resilience policy (`RPC_*` config). The
   * dependency is found by its name (`discovery`), or by `find` when that differs from the name its
   * metrics and errors carry; `url` pins one address instead (a backend the gateway's routing table
   * names by address).
   */
  grpcClient: <S extends DescService>(
    service: S,
    target: { dependency: string; url?: string; find?: string; settings?: Partial<PolicySettings> },
  ) => GrpcClient<S>;
  /** How other services are found by name (their HTTP APIs too). */
  discovery: Discovery;
  /**
   * For an HTTP API serving customers' resources: whether a request's `Authorization` may read
   * this customer's (always, unless the service runs under a call policy; `customer-access.ts`).
   */
  customerAccess: CustomerAccess;
  /** Aborted when the service starts stopping; long-lived streams end on it. */
  stopping: AbortSignal;
}

/**
 * What a service declares it uses. A database comes with `migrations`; messaging (an outbox, a
 * relay, consumers) needs the database too.
 */
export type ServiceUses = { database?: false; messaging?: false } | { database: true; messaging?: boolean };

/** The context a service is set up with: its database and outbox are there exactly when declared. */
export type ServiceContext<Config, Uses extends ServiceUses = ServiceUses> = BaseServiceContext<Config> &
  (Uses extends { database: true } ? { db: Pool } : { db?: undefined }) &
  (Uses extends { messaging: true }
    ? {
        outbox: Outbox;
        /** Messages one of its consumer groups has not acknowledged yet (`ServiceMessaging.lag`). */
        consumerLag: (group: string) => Promise<number>;
      }
    : { outbox?: undefined; consumerLag?: undefined });

/** What a service adds to the chassis: its routes, extra readiness checks and resources to close. */
export interface ServiceParts {
  routes?: FastifyPluginAsyncZod;
  /** gRPC services, served on GRPC_PORT (`grpcServerConfigShape`). */
  grpc?: GrpcRoutes;
  /** Consumer groups this service runs (needs `messaging` in the definition). */
  consumers?: ConsumerDefinition[];
  readiness?: ReadinessCheck[];
  /** Timers and workers only an active instance runs (see `Duty`). */
  duties?: Duty[];
  onClose?: () => Promise<void>;
}

interface DefinitionBase<Config extends ChassisConfig> {
  name: string;
  config: z.ZodType<Config>;
  docs?: DocsSettings;
  /** Limits of the HTTP server (an edge sets tighter ones than the defaults). */
  http?: (config: Config) => Pick<
    HttpServerSettings,
    'bodyLimitBytes' | 'requestTimeoutMs' | 'maxHeaderBytes' | 'trustProxy'
  > & {
    /** A public port's certificate (the edge's): HTTPS that asks clients for none. */
    publicTls?: ServerCertificateFiles | undefined;
  };
}

/**
 * A service as the chassis builds it. `Uses` says what it needs beyond HTTP (e.g.
 * `{ database: true; messaging: true }`); the definition must then declare its migrations and
 * message contracts, and `setup` gets `db` and `outbox` without checking for them.
 */
export type ServiceDefinition<
  Config extends ChassisConfig,
  Uses extends ServiceUses = ServiceUses,
> = DefinitionBase<Config> &
  (Uses extends { database: true }
    ? {
        /** Folder of forward-only SQL migrations for the service's own database. */
        migrations: string;
      }
    : { migrations?: undefined }) &
  (Uses extends { messaging: true }
    ? {
        /**
         * The messages this service publishes or consumes. Gives it an outbox, a relay, consumers with
         * an inbox and dead letters, on the bus its config names (`messagingConfigShape`).
         */
        messaging: { contracts: readonly MessageContract[] };
      }
    : { messaging?: undefined }) & {
    setup: (context: ServiceContext<Config, Uses>) => Promise<ServiceParts> | ServiceParts;
  };

export interface Service<Config> {
  name: string;
  config: Config;
  logger: Logger;
  app: HttpApp;
  db: Pool | undefined;
  /** `http://host:port` of the gRPC server once started, when the service serves gRPC. */
  grpcUrl: () => string | undefined;
  /** Listens on HOST:PORT and returns the base URL. */
  start: () => Promise<string>;
  /** Stops accepting, drains in-flight requests up to SHUTDOWN_TIMEOUT_MS, closes pools. */
  stop: () => Promise<{ drained: boolean }>;
  /** Active or standby now. */
  role: () => ServiceRole;
  /**
   * Becomes active (starts consuming, relaying and its duties) or stands by (stops them, in-flight
   * deliveries finishing first); calls keep being served either way. Resolves once done.
   */
  setRole: (role: ServiceRole) => Promise<void>;
}

/**
 * Builds a service from its definition: config, logs, metrics, health, database and migrations,
 * HTTP with problem+json errors, graceful stop. Throws `ConfigError` for bad configuration.
 */
export async function createService<Config extends ChassisConfig, Uses extends ServiceUses>(
  definition: ServiceDefinition<Config, Uses>,
  environment: Record<string, string | undefined> = process.env,
): Promise<Service<Config>> {
  // What it declares, read without the compile-time link between `Uses` and its fields.
  const declared = definition as DefinitionBase<Config> & {
    migrations?: string;
    messaging?: { contracts: readonly MessageContract[] };
  };
  const config = loadConfig(definition.config, environment);
  const logger = createLogger({ service: definition.name, level: config.LOG_LEVEL });
  // Before any pool is made: the setting holds for every pool of the process.
  prepareStatements(config.DATABASE_PREPARED_STATEMENTS ?? true);
  // Before any I/O: a discovery setting that cannot work is a configuration error, said first.
  const discovery = createDiscovery(config, logger);
  const tls = workloadTls(config, logger);
  const metrics = createServiceMetrics(definition.name);
  const health: HealthState = { accepting: false };
  const checks: ReadinessCheck[] = [];

  let db: Pool | undefined;
  if (declared.migrations) {
    const { DATABASE_URL, DATABASE_POOL_MAX } = config as Config & Partial<DatabaseConfig>;
    if (!DATABASE_URL)
      throw new Error(`${definition.name} declares migrations but its config has no DATABASE_URL`);
    db = createPool(
      { url: DATABASE_URL, max: DATABASE_POOL_MAX ?? 10, applicationName: definition.name },
      logger,
    );
    try {
      await migrate(db, declared.migrations, logger);
    } catch (error) {
      await db.end();
      throw error;
    }
    const pool = db;
    checks.push({ name: 'database', check: () => pingDatabase(pool) });
  }

  let messaging: ServiceMessaging | undefined;
  if (declared.messaging) {
    const { DATABASE_URL } = config as Config & Partial<DatabaseConfig>;
    if (!db || !DATABASE_URL) throw new Error(`${definition.name} declares messaging but has no database`);
    messaging = await createServiceMessaging({
      config: config as Config & MessagingConfig,
      db,
      databaseUrl: DATABASE_URL,
      logger,
      registry: metrics.registry,
      contracts: declared.messaging.contracts,
    });
  }

  discovery.start();
  // The first answer before anything calls out: a call made earlier would find no instance and wait.
  await discovery.ready(2_000);

  // Under a call policy the users behind calls are checked against identity's keys, found by name.
  const authenticateUsers =
    config.MERCATO_POLICY_FILE && discovery.knows('identity', 'http')
      ? createAuthenticator({
          jwksUrl: identityJwks(discovery),
          issuer: config.JWT_ISSUER ?? 'mercato-identity',
          audience: config.JWT_AUDIENCE ?? 'mercato',
        })
      : undefined;
  const stopSignal = new AbortController();
  const policyDefaults = policySettingsFrom(config as Config & RpcClientConfig);
  // The definition's type ties `db` and `outbox` to its migrations and messaging, which were
  // checked above; the cast only says so to the compiler.
  const parts = await definition.setup({
    config,
    logger,
    metrics,
    db,
    outbox: messaging?.outbox,
    consumerLag: messaging?.lag,
    stopping: stopSignal.signal,
    discovery,
    customerAccess: customerAccess(config.MERCATO_POLICY_FILE !== undefined, authenticateUsers),
    grpcClient: (service, target) =>
      createGrpcClient(service, {
        dependency: target.dependency,
        caller: definition.name,
        endpoints: target.url
          ? staticEndpoints([target.url])
          : discovery.endpoints(target.find ?? target.dependency, 'grpc'),
        settings: { ...policyDefaults, ...target.settings },
        logger,
        metrics: metrics.rpc,
        ...(tls
          ? { tls: { workload: tls, ...(target.url ? {} : { peer: target.find ?? target.dependency }) } }
          : {}),
      }),
  } as ServiceContext<Config, Uses>);
  let grpc: { server: GrpcServer; port: number } | undefined;
  let authorizer: CallAuthorizer | undefined;
  let grpcUrl: string | undefined;
  if (parts.grpc) {
    const {
      GRPC_PORT: port,
      MERCATO_FAULT_ERROR_PERCENT: errorPercent = 0,
      MERCATO_FAULT_LATENCY_MS: latencyMs = 0,
    } = config as Config & {
      GRPC_PORT?: number;
      MERCATO_FAULT_ERROR_PERCENT?: number;
      MERCATO_FAULT_LATENCY_MS?: number;
    };
    if (port === undefined)
      throw new Error(
        `${definition.name} serves gRPC but its config has no GRPC_PORT (grpcServerConfigShape)`,
      );
    if (errorPercent > 0 || latencyMs > 0)
      logger.warn(
        { error_percent: errorPercent, latency_ms: latencyMs },
        'this instance injects faults into its gRPC calls (a deliberately bad version)',
      );
    authorizer = config.MERCATO_POLICY_FILE
      ? await loadCallAuthorizer({
          file: config.MERCATO_POLICY_FILE,
          service: definition.name,
          logger,
          registry: metrics.registry,
        })
      : undefined;
    const security = tls && {
      tls,
      ...(authorizer
        ? {
            authorize: authorizationInterceptor(
              authorizer,
              definition.name,
              metrics.registry,
              authenticateUsers,
            ),
          }
        : {}),
    };
    grpc = {
      server: createGrpcServer(parts.grpc, logger, metrics.rpc, { errorPercent, latencyMs }, security),
      port,
    };
  }
  checks.push(...(parts.readiness ?? []));

  const { publicTls: publicTlsFiles, ...httpSettings } = definition.http?.(config) ?? {};
  if (publicTlsFiles && config.HTTP_MUTUAL_TLS)
    throw new ConfigError([
      `HTTP_MUTUAL_TLS and ${publicTlsFiles.names.cert} both set: a port is either inside the mesh or public`,
    ]);
  const publicTls = publicTlsFiles ? loadServerCertificate(publicTlsFiles, logger) : undefined;
  const secureHttp = publicTls !== undefined || (tls !== undefined && config.HTTP_MUTUAL_TLS === true);
  const app = createHttpServer({
    logger,
    metrics,
    ...httpSettings,
    ...(tls && config.HTTP_MUTUAL_TLS ? { tls } : {}),
    ...(publicTls ? { publicTls } : {}),
  });
  registerHealthRoutes(app, checks, health, metrics.registry);
  app.addHook('onRequest', createAdminGuard(adminGuardSettings(config, discovery)));
  // While draining, answer in-flight requests with `Connection: close` so keep-alive clients do not
  // hold the server open after their last response.
  app.addHook('onSend', async (_request, reply) => {
    if (!health.accepting) void reply.header('connection', 'close');
  });
  if (definition.docs) await registerOpenApiDocs(app, definition.docs);
  if (parts.routes) await app.register(parts.routes);
  if (messaging) await app.register(messaging.routes);

  const duties = parts.duties ?? [];
  let role: ServiceRole = config.MERCATO_ROLE ?? 'active';
  let started = false;
  const roleGauge = new Gauge({
    name: 'service_active',
    help: 'Whether this instance is active (1) or a blue-green standby (0): a standby takes no deliveries and runs no duties',
    registers: [metrics.registry],
  });
  roleGauge.set(role === 'active' ? 1 : 0);
  const startWork = async () => {
    await messaging?.activate();
    for (const duty of duties) duty.start();
  };
  const stopWork = async () => {
    for (const duty of duties) await duty.stop();
    await messaging?.standby();
  };
  // Role changes run one at a time, in the order asked.
  let roleChange: Promise<void> = Promise.resolve();
  const setRole = (next: ServiceRole): Promise<void> => {
    roleChange = roleChange.then(async () => {
      if (next === role || stopping) return;
      role = next;
      roleGauge.set(role === 'active' ? 1 : 0);
      if (started) await (role === 'active' ? startWork() : stopWork());
      logger.info({ role }, role === 'active' ? 'active: consuming and running duties' : 'standing by');
    });
    return roleChange;
  };

  let stopping: Promise<{ drained: boolean }> | undefined;
  const stop = async (): Promise<{ drained: boolean }> => {
    health.accepting = false;
    stopSignal.abort();
    await roleChange;
    if (role === 'active') for (const duty of duties) await duty.stop();
    const grpcClosed = grpc?.server.close(config.SHUTDOWN_TIMEOUT_MS);
    const closed = app.close().then(() => true);
    const bound = new Promise<false>((resolve) =>
      setTimeout(resolve, config.SHUTDOWN_TIMEOUT_MS, false).unref(),
    );
    const drained = await Promise.race([closed, bound]);
    if (!drained) {
      logger.warn(
        { timeout_ms: config.SHUTDOWN_TIMEOUT_MS },
        'in-flight requests outlived the drain bound; closing',
      );
      app.server.closeAllConnections();
    }
    await grpcClosed;
    await parts.onClose?.();
    await messaging?.stop();
    await discovery.stop();
    authorizer?.close();
    tls?.close();
    publicTls?.close();
    await db?.end();
    await stopTracing();
    logger.info({ drained }, 'stopped');
    return { drained };
  };

  return {
    name: definition.name,
    config,
    logger,
    app,
    db,
    grpcUrl: () => grpcUrl,
    role: () => role,
    setRole,
    async start() {
      await messaging?.start(parts.consumers ?? [], role === 'active');
      if (role === 'active') for (const duty of duties) duty.start();
      else logger.info({ role }, 'standing by: serving calls, taking no deliveries and running no duties');
      started = true;
      if (grpc) {
        grpcUrl = await grpc.server.listen(config.HOST, grpc.port);
        logger.info({ address: grpcUrl }, `${definition.name} serving gRPC`);
      }
      const listened = await app.listen({ host: config.HOST, port: config.PORT });
      // fastify names the scheme of a server it made itself; this one may be HTTPS.
      const address = secureHttp ? listened.replace(/^http:/, 'https:') : listened;
      health.accepting = true;
      logger.info({ address }, `${definition.name} listening`);
      return address;
    },
    stop: () => {
      stopping ??= stop();
      return stopping;
    },
  };
}

/**
 * The workload's certificate when TLS_* is set (all three, or a ConfigError); a call policy without
 * it is one too, since a caller could not be told from another.
 */
function workloadTls(config: ChassisConfig, logger: Logger): WorkloadTls | undefined {
  const { TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile, TLS_CA_FILE: caFile } = config;
  const given = [certFile, keyFile, caFile].filter((file) => file !== undefined).length;
  if (given === 0) {
    if (config.MERCATO_POLICY_FILE)
      throw new ConfigError([
        'MERCATO_POLICY_FILE needs TLS_CERT_FILE, TLS_KEY_FILE and TLS_CA_FILE (callers are known by their certificates)',
      ]);
    if (config.HTTP_MUTUAL_TLS)
      throw new ConfigError(['HTTP_MUTUAL_TLS needs TLS_CERT_FILE, TLS_KEY_FILE and TLS_CA_FILE']);
    return undefined;
  }
  if (!certFile || !keyFile || !caFile)
    throw new ConfigError(['TLS_CERT_FILE, TLS_KEY_FILE and TLS_CA_FILE go together: set all three or none']);
  const tls = loadWorkloadTls({ certFile, keyFile, caFile }, logger);
  // Its HTTPS calls to the platform's HTTP ports (the read models, identity's keys) present it too.
  presentWorkloadCertificate(tls);
  return tls;
}

/** What discovery the configuration chose (`MERCATO_DISCOVERY`, or what it implies). */
function createDiscovery(config: ChassisConfig, logger: Logger): Discovery {
  const settings = config as ChassisConfig & DiscoveryConfig;
  // DNS only when chosen (Kubernetes): a service run alone with nothing set knows no name, rather
  // than asking whatever answers for `identity` on the local network for keys.
  const mode = settings.MERCATO_DISCOVERY ?? (settings.MERCATO_REGISTRY_URL ? 'registry' : 'static');
  if (mode === 'registry') {
    if (!settings.MERCATO_REGISTRY_URL || !settings.MERCATO_ADMIN_TOKEN)
      throw new ConfigError([
        'MERCATO_DISCOVERY=registry needs MERCATO_REGISTRY_URL and MERCATO_ADMIN_TOKEN (the supervisor sets both)',
      ]);
    return new RegistryWatch({
      url: settings.MERCATO_REGISTRY_URL,
      token: settings.MERCATO_ADMIN_TOKEN,
      logger,
    });
  }
  if (mode === 'static') return new StaticPeers(settings.MERCATO_PEERS ?? new Map());
  return new DnsNames({
    domain: settings.MERCATO_DNS_DOMAIN ?? '',
    grpcPort: settings.MERCATO_DNS_GRPC_PORT ?? 50051,
    httpPort: settings.MERCATO_DNS_HTTP_PORT ?? 8080,
  });
}

/** The discovery settings of `serviceConfigShape`. */
interface DiscoveryConfig {
  MERCATO_DISCOVERY?: 'registry' | 'dns' | 'static' | undefined;
  MERCATO_REGISTRY_URL?: string | undefined;
  MERCATO_DNS_DOMAIN?: string;
  MERCATO_DNS_GRPC_PORT?: number;
  MERCATO_DNS_HTTP_PORT?: number;
  MERCATO_PEERS?: PeerTable | undefined;
}
