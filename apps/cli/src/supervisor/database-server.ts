import type { Logger } from '@mercato/chassis/logging';
import pg from 'pg';
import type { SupervisorConfig } from '../config.ts';
import { type EmbeddedServer, startEmbeddedPostgres } from '../postgres/embedded-server.ts';
import { type ProvisionedDatabase, provisionDatabases } from '../postgres/provision-databases.ts';
import { provisionMessageStore } from '../postgres/provision-message-store.ts';
import type { ServiceSpec } from '../services.ts';

export interface DatabaseServer {
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

/**
 * A service that captures another's database (`ServiceSpec.captures`) reads it by logical
 * replication: the server must log for it, and the captured database's login may replicate.
 */
async function allowCapture(
  specs: readonly ServiceSpec[],
  admin: pg.ClientConfig,
  databases: Map<string, ProvisionedDatabase>,
  where: string,
): Promise<void> {
  const capturing = specs.filter((spec) => spec.captures !== undefined);
  if (capturing.length === 0) return;
  const client = new pg.Client(admin);
  await client.connect();
  try {
    const { rows } = await client.query<{ wal_level: string }>('SHOW wal_level');
    const walLevel = rows[0]?.wal_level;
    for (const spec of capturing) {
      if (walLevel !== 'logical')
        throw new Error(
          `${spec.name} reads ${spec.captures}'s database by logical replication, but the PostgreSQL server at ${where} has wal_level=${walLevel}: set wal_level=logical and restart it, or start without --legacy`,
        );
      const role = databases.get(spec.captures ?? '')?.role;
      if (!role || !/^[a-z_][a-z0-9_]*$/.test(role))
        throw new Error(`no database provisioned for ${spec.captures}`);
      await client.query(`ALTER ROLE "${role}" REPLICATION`);
    }
  } finally {
    await client.end();
  }
}

/** The database server (embedded and supervised, or external) with a database and role per service. */
export async function prepareDatabases(
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
    await allowCapture(specs, admin, databases, `${host}:${port}`);
    return {
      mode: 'external',
      embedded: undefined,
      databases,
      messageStoreUrls: await messageStoreUrls(specs, config, admin, databases),
    };
  }
  const embedded = await startEmbeddedPostgres(config.MERCATO_DATA_DIR, config.MERCATO_PG_PORT, {
    verbose: config.MERCATO_DEBUG_PG,
    statStatements: config.MERCATO_PG_STAT_STATEMENTS,
    logicalDecoding: specs.some((spec) => spec.captures !== undefined),
    log: (message) => logger.info(message),
    onDied: (pid, how) =>
      logger.error({ child: 'postgres', pid, how }, `PostgreSQL (pid ${pid}) died (${how}); restarting it`),
    onRestarted: (pid, afterMs) =>
      logger.info(
        { child: 'postgres', pid, outage_ms: afterMs },
        `PostgreSQL is back (pid ${pid}) after ${afterMs} ms; services reconnect on their own`,
      ),
  });
  try {
    const provisioned = await provisionDatabases({
      admin: { ...embedded.admin, database: 'postgres' },
      host: embedded.admin.host,
      port: embedded.admin.port,
      socketDirectory: embedded.socketDirectory,
      prefix: config.MERCATO_DB_PREFIX,
      services,
      exclusive: true,
    });
    const databases = new Map(provisioned.map((db) => [db.service, db]));
    await allowCapture(specs, { ...embedded.admin, database: 'postgres' }, databases, 'the embedded server');
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
 * Checkpoints the embedded server once the platform is up. Provisioning (one CREATE DATABASE per
 * service, WAL-logged block by block since PostgreSQL 15), migrations and seeding write a lot of
 * WAL; without a checkpoint after them, a PostgreSQL killed in the first minutes replays all of it
 * in crash recovery (measured: 7–12 s with eleven processes, instead of about 3 s).
 */
export async function checkpointEmbedded(server: DatabaseServer, logger: Logger): Promise<void> {
  if (!server.embedded) return;
  const { default: pgModule } = await import('pg');
  const client = new pgModule.Client({ ...server.embedded.admin, database: 'postgres' });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('CHECKPOINT');
  } catch (error) {
    logger.warn({ error }, 'checkpointing PostgreSQL after start failed; crash recovery will take longer');
  } finally {
    await client.end().catch(() => undefined);
  }
}
