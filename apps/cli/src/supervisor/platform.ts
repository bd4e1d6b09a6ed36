import path from 'node:path';
import type { Logger } from '@mercato/chassis';
import type pg from 'pg';
import type { SupervisorConfig } from '../config.ts';
import { type EmbeddedServer, startEmbeddedPostgres } from '../postgres/embedded-server.ts';
import { type ProvisionedDatabase, provisionDatabases } from '../postgres/provision-databases.ts';
import { provisionMessageStore } from '../postgres/provision-message-store.ts';
import { repositoryRoot, type ServiceSpec, serviceCommand } from '../services.ts';
import type { LogOutput } from './log-output.ts';
import { assertPortFree } from './port-check.ts';
import { clearRunState, type RunState, writeRunState } from './run-state.ts';
import { ServiceProcess } from './service-process.ts';
import { formatStatusTable } from './status-table.ts';

export interface Platform {
  stop: () => Promise<void>;
}

const SERVICE_STOP_GRACE_MS = 12_000;

/** Variables a child must not inherit: the admin's database access stays with the supervisor. */
const privateVariables = /^(PG[A-Z]+|DATABASE_URL.*)$/;

function childEnvironment(extra: Record<string, string>): NodeJS.ProcessEnv {
  const environment: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env))
    if (!privateVariables.test(key)) environment[key] = value;
  return { ...environment, ...extra };
}

function placeServices(
  specs: readonly ServiceSpec[],
  config: SupervisorConfig,
): { ports: Record<string, number>; grpcPorts: Record<string, number> } {
  const ports: Record<string, number> = {};
  const grpcPorts: Record<string, number> = {};
  let next = config.MERCATO_PORT_BASE;
  let nextGrpc = config.MERCATO_GRPC_PORT_BASE;
  for (const spec of specs) {
    ports[spec.name] = spec.name === 'gateway' ? config.MERCATO_GATEWAY_PORT : next++;
    if (spec.grpc) grpcPorts[spec.name] = nextGrpc++;
  }
  return { ports, grpcPorts };
}

interface DatabaseServer {
  mode: 'embedded' | 'external';
  embedded: EmbeddedServer | undefined;
  databases: Map<string, ProvisionedDatabase>;
  /** Per service: its URL to the message store, when the bus is the PostgreSQL store. */
  messageStoreUrls: Map<string, string>;
}

/** With the PostgreSQL store as the bus, creates it and gives each messaging service its URL. */
async function messageStoreUrls(
  specs: readonly ServiceSpec[],
  config: SupervisorConfig,
  admin: pg.ClientConfig,
  databases: Map<string, ProvisionedDatabase>,
): Promise<Map<string, string>> {
  const users = specs.filter((spec) => spec.messaging).map((spec) => databases.get(spec.name));
  const roles = users.filter((database): database is ProvisionedDatabase => database !== undefined);
  if (config.MERCATO_BUS !== 'postgres' || roles.length === 0) return new Map();
  const urlFor = await provisionMessageStore({ admin, prefix: config.MERCATO_DB_PREFIX, roles });
  return new Map(roles.map((database) => [database.service, urlFor(database)]));
}

async function prepareDatabases(
  specs: readonly ServiceSpec[],
  config: SupervisorConfig,
  logger: Logger,
): Promise<DatabaseServer> {
  const services = specs.filter((spec) => spec.database).map((spec) => spec.name);
  const external = config.DATABASE_URL !== undefined || config.PGHOST !== undefined;
  if (external) {
    const url = config.DATABASE_URL ? new URL(config.DATABASE_URL) : undefined;
    const host = url?.hostname || config.PGHOST || '127.0.0.1';
    const port = Number(url?.port || process.env.PGPORT || 5432);
    logger.info({ host, port }, 'infra mode: using the PostgreSQL server given by DATABASE_URL / PG*');
    const provisioned = await provisionDatabases({
      admin: config.DATABASE_URL ? { connectionString: config.DATABASE_URL } : {},
      host,
      port,
      prefix: config.MERCATO_DB_PREFIX,
      services,
      exclusive: false,
    });
    const databases = new Map(provisioned.map((db) => [db.service, db]));
    const admin = config.DATABASE_URL ? { connectionString: config.DATABASE_URL } : {};
    return {
      mode: 'external',
      embedded: undefined,
      databases,
      messageStoreUrls: await messageStoreUrls(specs, config, admin, databases),
    };
  }
  const embedded = await startEmbeddedPostgres(config.MERCATO_DATA_DIR, config.MERCATO_PG_PORT, (message) =>
    logger.info(message),
  );
  try {
    const provisioned = await provisionDatabases({
      admin: { ...embedded.admin, database: 'postgres' },
      host: embedded.admin.host,
      port: embedded.admin.port,
      prefix: config.MERCATO_DB_PREFIX,
      services,
      exclusive: true,
    });
    const databases = new Map(provisioned.map((db) => [db.service, db]));
    return {
      mode: 'embedded',
      embedded,
      databases,
      messageStoreUrls: await messageStoreUrls(
        specs,
        config,
        { ...embedded.admin, database: 'postgres' },
        databases,
      ),
    };
  } catch (error) {
    await embedded.stop();
    throw error;
  }
}

/**
 * Brings the platform up: database server, one database and role per service, then each service
 * as its own process in dependency order, each waited on until ready.
 */
export async function startPlatform(
  specs: readonly ServiceSpec[],
  config: SupervisorConfig,
  logger: Logger,
  output: LogOutput,
  signal: AbortSignal,
): Promise<Platform> {
  const began = Date.now();
  const { ports, grpcPorts } = placeServices(specs, config);
  for (const spec of specs) {
    const variable = spec.name === 'gateway' ? 'MERCATO_GATEWAY_PORT' : 'MERCATO_PORT_BASE';
    await assertPortFree(ports[spec.name] ?? 0, variable);
    if (spec.grpc) await assertPortFree(grpcPorts[spec.name] ?? 0, 'MERCATO_GRPC_PORT_BASE');
  }
  const server = await prepareDatabases(specs, config, logger);
  const urls = Object.fromEntries(specs.map((spec) => [spec.name, `http://127.0.0.1:${ports[spec.name]}`]));
  const grpcUrls = Object.fromEntries(
    Object.entries(grpcPorts).map(([name, port]) => [name, `http://127.0.0.1:${port}`]),
  );
  const running: ServiceProcess[] = [];

  const state = (): RunState => ({
    supervisor_pid: process.pid,
    started_at: new Date(began).toISOString(),
    postgres: {
      mode: server.mode,
      pid: server.embedded?.pid ?? null,
      port: server.embedded?.admin.port ?? Number(process.env.PGPORT ?? 5432),
    },
    services: Object.fromEntries(
      running.map((child) => [
        child.name,
        {
          pid: child.pid ?? null,
          url: child.url,
          database: server.databases.get(child.name)?.database ?? null,
        },
      ]),
    ),
  });
  // Services spawn side by side: writes are queued so each one renames a complete file.
  let writing = Promise.resolve();
  const saveState = () => {
    writing = writing
      .then(() => writeRunState(config.MERCATO_DATA_DIR, state()))
      .catch((error: Error) => logger.warn({ error }, 'could not write the run state file'));
  };

  const stop = async () => {
    // Reverse start order: the edge stops taking traffic before what it calls goes away.
    for (const child of [...running].reverse()) await child.stop(SERVICE_STOP_GRACE_MS);
    await server.embedded?.stop();
    await clearRunState(config.MERCATO_DATA_DIR);
  };

  // Each service starts as soon as the services it depends on are ready, so independent ones
  // start side by side.
  const readiness = new Map<string, Promise<void>>();
  for (const spec of specs) {
    const dependencies = spec.dependsOn.map((name) => readiness.get(name));
    readiness.set(
      spec.name,
      (async () => {
        await Promise.all(dependencies);
        signal.throwIfAborted();
        const database = server.databases.get(spec.name);
        const child = new ServiceProcess({
          name: spec.name,
          cwd: path.join(repositoryRoot, spec.directory),
          args: serviceCommand(),
          url: urls[spec.name] ?? '',
          output,
          logger,
          onSpawn: saveState,
          env: childEnvironment({
            HOST: '127.0.0.1',
            PORT: String(ports[spec.name]),
            ...(spec.grpc ? { GRPC_PORT: String(grpcPorts[spec.name]) } : {}),
            LOG_LEVEL: config.LOG_LEVEL,
            OTEL_SERVICE_NAME: spec.name,
            MERCATO_SERVICE: spec.name,
            ...(database ? { DATABASE_URL: database.url } : {}),
            ...(spec.messaging ? { MERCATO_BUS: config.MERCATO_BUS } : {}),
            ...(server.messageStoreUrls.has(spec.name)
              ? { MESSAGES_DATABASE_URL: server.messageStoreUrls.get(spec.name) ?? '' }
              : {}),
            ...(spec.messaging && config.NATS_URL ? { NATS_URL: config.NATS_URL } : {}),
            ...spec.env?.({ http: urls, grpc: grpcUrls }),
          }),
        });
        running.push(child);
        child.start();
        await child.waitReady(config.MERCATO_READY_TIMEOUT_MS, signal);
      })(),
    );
  }
  const outcomes = await Promise.allSettled(readiness.values());
  const failed = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }

  saveState();
  output.text(
    `\n${formatStatusTable(specs.flatMap((spec) => running.filter((child) => child.name === spec.name)).map((child) => ({ service: child.name, pid: child.pid, url: child.url, grpc: grpcUrls[child.name], database: server.databases.get(child.name)?.database ?? null })))}\n`,
  );
  const seconds = ((Date.now() - began) / 1000).toFixed(1);
  output.text(
    `all services ready in ${seconds} s — API ${urls.gateway}/api/catalog/products, docs ${urls.gateway}/docs\n`,
  );
  logger.info({ seconds: Number(seconds) }, 'all services ready');
  return { stop };
}
