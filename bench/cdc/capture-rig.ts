/**
 * What bench/cdc runs on: one embedded PostgreSQL with `wal_level=logical` (the platform's server, as
 * `npm start` runs it) holding the monolith's seeded database, the capture's own database and the
 * PostgreSQL message store; and apps/legacy-cdc as a process of its own on them, started from its
 * TypeScript as `npm start -w @mercato/legacy-cdc` does.
 */
import { fileURLToPath } from 'node:url';
import { createLogger, createPool, messageStoreMigrations, migrate } from '@mercato/chassis';
import { freePort, ProcessUnderTest, waitFor } from '@mercato/chassis/testing';
import pg from 'pg';
import {
  type LogicalPostgres,
  startLogicalPostgres,
} from '../../apps/legacy-cdc/test/support/logical-postgres.ts';
import { cpuProfileFlags } from '../smoke-mode.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const logger = createLogger({ service: 'bench-cdc', level: 'silent' });

/** The monolith's captured tables (apps/legacy-cdc's captured-tables.ts): the snapshot reads them all. */
export const CAPTURED_TABLES = [
  'customers',
  'products',
  'stock',
  'orders',
  'order_lines',
  'capabilities',
] as const;

export interface CaptureServer {
  postgres: LogicalPostgres;
  /** The postmaster's pid: its children are this run's PostgreSQL. */
  postmasterPid: number | undefined;
  legacyUrl: string;
  cdcUrl: string;
  messagesUrl: string;
  adminUrl: string;
  stop: () => Promise<void>;
}

const onDatabase = (url: string, database: string) => {
  const to = new URL(url);
  to.pathname = `/${database}`;
  return to.toString();
};

/** The embedded server with the monolith seeded, an empty database for the capture and a migrated store. */
export async function startCaptureServer(): Promise<CaptureServer> {
  const postgres = await startLogicalPostgres();
  const admin = new pg.Client({ connectionString: postgres.adminUrl });
  await admin.connect();
  await admin.query('CREATE DATABASE legacy_cdc');
  await admin.query('CREATE DATABASE messages');
  await admin.end();
  const messagesUrl = onDatabase(postgres.adminUrl, 'messages');
  const store = createPool({ url: messagesUrl, max: 1, applicationName: 'bench' }, logger);
  await migrate(store, messageStoreMigrations, logger, 'bus_migrations');
  await store.end();
  return {
    postgres,
    postmasterPid: postgres.server.pid,
    legacyUrl: postgres.legacyUrl,
    cdcUrl: onDatabase(postgres.adminUrl, 'legacy_cdc'),
    messagesUrl,
    adminUrl: postgres.adminUrl,
    stop: () => postgres.stop(),
  };
}

/** Rows of these tables of the monolith now (all captured ones: what the initial snapshot publishes). */
export async function monolithRows(
  legacyUrl: string,
  tables: readonly string[] = CAPTURED_TABLES,
): Promise<number> {
  const client = new pg.Client({ connectionString: legacyUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(
      `SELECT (${tables.map((table) => `(SELECT count(*) FROM ${table})`).join(' + ')})::text AS n`,
    );
    return Number(rows[0]?.n ?? 0);
  } finally {
    await client.end();
  }
}

/**
 * The smoke mode's monolith: its orders and their lines deleted before the capture starts, so the
 * snapshot takes a second, not fifteen (the same code reads 5,400 rows instead of 65,400).
 */
export async function trimMonolith(legacyUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: legacyUrl });
  await client.connect();
  try {
    await client.query('DELETE FROM order_lines');
    await client.query('DELETE FROM orders');
  } finally {
    await client.end();
  }
}

export interface SnapshotFigures {
  rows: number;
  /** From the slot's creation to the snapshot's outbox commit, as the capture logs it. */
  into_outbox_s: number;
  /** From the slot's creation until the relay has handed the last of them to the bus. */
  on_bus_s: number;
  rows_per_s: number;
  /** From the process's spawn to its `/readyz` answering 200. */
  process_ready_s: number;
}

export interface CaptureProcess {
  process: ProcessUnderTest;
  pid: number | undefined;
  snapshot: SnapshotFigures;
  /** Whether it is still running (it never exits on its own). */
  running: () => boolean;
  stop: () => Promise<number | null>;
}

/**
 * Starts apps/legacy-cdc on the server's databases and waits for its initial snapshot to be on the
 * bus: logged by the capture (rows, and the time from the slot's creation to the outbox commit),
 * then the capture's outbox empty (everything relayed).
 */
export async function startCapture(server: CaptureServer): Promise<CaptureProcess> {
  const port = await freePort();
  const spawned = performance.now();
  const child = new ProcessUnderTest(
    [
      ...cpuProfileFlags(),
      '--import',
      'tsx',
      '--import',
      '@mercato/chassis/register',
      'apps/legacy-cdc/src/main.ts',
    ],
    {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/root',
        MERCATO_SERVICE: 'legacy-cdc',
        DATABASE_URL: server.cdcUrl,
        MESSAGES_DATABASE_URL: server.messagesUrl,
        LEGACY_DATABASE_URL: server.legacyUrl,
        PORT: String(port),
        // Info: the capture says when its snapshot is in the outbox and how long it took.
        LOG_LEVEL: 'info',
      },
    },
  );
  const stop = async () => {
    await child.kill('SIGTERM');
    return child.child.exitCode;
  };
  try {
    const url = `http://127.0.0.1:${port}`;
    await waitFor(
      'legacy-cdc ready',
      async () => {
        if (child.child.exitCode !== null)
          throw new Error(
            `legacy-cdc exited with ${child.child.exitCode}:\n${child.lines.slice(-10).join('\n')}`,
          );
        return (await fetch(`${url}/readyz`).catch(() => undefined))?.ok === true;
      },
      120_000,
      50,
    );
    const readyS = (performance.now() - spawned) / 1_000;
    const line = await child.waitForLine(/initial snapshot of the monolith/, 300_000);
    const logged = JSON.parse(line) as { rows: number; took_ms: number; timestamp: string };
    const slotCreatedAt = Date.parse(logged.timestamp) - logged.took_ms;
    const cdc = new pg.Client({ connectionString: server.cdcUrl });
    await cdc.connect();
    try {
      await waitFor(
        'the snapshot relayed to the bus',
        async () =>
          (await cdc.query<{ n: number }>('SELECT count(*)::int AS n FROM mercato_outbox')).rows[0]?.n === 0,
        300_000,
        20,
      );
    } finally {
      await cdc.end();
    }
    const onBusS = (Date.now() - slotCreatedAt) / 1_000;
    return {
      process: child,
      pid: child.child.pid,
      snapshot: {
        rows: logged.rows,
        into_outbox_s: Number((logged.took_ms / 1_000).toFixed(2)),
        on_bus_s: Number(onBusS.toFixed(2)),
        rows_per_s: Math.round(logged.rows / onBusS),
        process_ready_s: Number(readyS.toFixed(2)),
      },
      running: () => child.child.exitCode === null && child.child.signalCode === null,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
