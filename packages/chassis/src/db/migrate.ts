import type { Logger } from '../logging/create-logger.ts';
import type { Pool } from './database.ts';

export interface MigrationResult {
  applied: string[];
}

/**
 * Applies the service's forward-only SQL migrations (files `<timestamp>_<name>.sql` with an
 * `-- Up Migration` section). node-pg-migrate takes an advisory lock, so replicas starting together
 * apply each migration once. Each folder keeps its own table, so the chassis's tables and the
 * service's own are versioned independently.
 */
export async function migrate(
  pool: Pool,
  directory: string,
  logger: Logger,
  table = 'schema_migrations',
): Promise<MigrationResult> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (error: Error) => {
    broken = error; // The server went away mid-migration: fail, do not crash (see inTransaction).
  };
  client.on('error', onError);
  try {
    // Loaded when there is something to migrate: node-pg-migrate brings a TypeScript loader (jiti)
    // that a process without a database, like the gateway, should not carry.
    const { runner } = await import('node-pg-migrate');
    const applied = await runner({
      dbClient: client,
      dir: directory,
      direction: 'up',
      migrationsTable: table,
      checkOrder: true,
      singleTransaction: true,
      count: Number.POSITIVE_INFINITY,
      log: () => undefined,
    });
    for (const migration of applied) logger.info({ migration: migration.name }, 'migration applied');
    return { applied: applied.map((migration) => migration.name) };
  } finally {
    client.removeListener('error', onError);
    client.release(broken);
  }
}
