import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../logging/create-logger.ts';
import type { Pool, PoolClient } from './database.ts';

export interface MigrationResult {
  applied: string[];
}

/** PostgreSQL's code for "relation does not exist": the migrations table is not there yet. */
const UNDEFINED_TABLE = '42P01';

/**
 * Whether every migration in the folder is applied, by one query: then there is nothing for
 * node-pg-migrate to do, and it is not loaded (with the TypeScript loader it brings, its import was
 * a tenth of a service's start-up CPU). Also says which applied ones the folder does not have: a
 * newer release's, when an older one runs again (a rollback), on the schema it expanded. Names as
 * node-pg-migrate keeps them: each file's name without its extension (dot files left out), in its
 * table in the `public` schema.
 */
async function appliedState(
  client: PoolClient,
  directory: string,
  table: string,
): Promise<{ pending: boolean; unknown: string[] }> {
  const files = (await readdir(directory, { withFileTypes: true }))
    .filter((entry) => (entry.isFile() || entry.isSymbolicLink()) && !entry.name.startsWith('.'))
    .map((entry) => path.basename(entry.name, path.extname(entry.name)));
  try {
    const { rows } = await client.query<{ name: string }>(
      `SELECT name FROM public."${table.replaceAll('"', '""')}"`,
    );
    const applied = new Set(rows.map((row) => row.name));
    const known = new Set(files);
    return {
      pending: !files.every((name) => applied.has(name)),
      unknown: [...applied].filter((name) => !known.has(name)),
    };
  } catch (error) {
    if ((error as { code?: string }).code === UNDEFINED_TABLE) return { pending: true, unknown: [] };
    throw error;
  }
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
    const state = await appliedState(client, directory, table);
    if (!state.pending) {
      if (state.unknown.length > 0)
        logger.info(
          { migrations: state.unknown },
          'the database has migrations this version does not (a newer one applied them); it runs on that schema',
        );
      return { applied: [] };
    }
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
