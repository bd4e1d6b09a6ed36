import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, createPool, migrate } from '@mercato/chassis';
import { freePort } from '@mercato/chassis/testing';
import { type EmbeddedServer, startEmbeddedPostgres } from '../../../cli/src/postgres/embedded-server.ts';

const legacyMigrations = fileURLToPath(new URL('../../../legacy/migrations', import.meta.url));

export interface LogicalPostgres {
  server: EmbeddedServer;
  /** The monolith's database, migrated and seeded, on a server with `wal_level=logical`. */
  legacyUrl: string;
  /** The server's `postgres` database as its superuser. */
  adminUrl: string;
  stop: () => Promise<void>;
}

/**
 * A PostgreSQL server of the test's own with `wal_level=logical` (the platform's embedded one, which
 * restarts itself when killed), holding the monolith's database. The machine's server is not used:
 * its `wal_level` is usually `replica`, and a crash test kills this one.
 */
export async function startLogicalPostgres(): Promise<LogicalPostgres> {
  const dir = await mkdtemp(path.join(tmpdir(), 'mercato-cdc-'));
  const port = await freePort();
  const server = await startEmbeddedPostgres(dir, port, {
    logicalDecoding: true,
    log: () => undefined,
    onDied: () => undefined,
    onRestarted: () => undefined,
  });
  const { user, password, host } = server.admin;
  const base = `postgres://${user}:${encodeURIComponent(password)}@${host}:${port}`;
  const logger = createLogger({ service: 'test', level: 'silent' });
  const admin = createPool({ url: `${base}/postgres`, max: 1, applicationName: 'test' }, logger);
  await admin.query('CREATE DATABASE legacy');
  await admin.end();
  const legacy = createPool({ url: `${base}/legacy`, max: 1, applicationName: 'test' }, logger);
  await migrate(legacy, legacyMigrations, logger);
  await legacy.end();
  return {
    server,
    legacyUrl: `${base}/legacy`,
    adminUrl: `${base}/postgres`,
    stop: async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
