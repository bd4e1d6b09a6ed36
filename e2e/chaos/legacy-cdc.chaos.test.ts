import { loadavg } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createLogger,
  createPool,
  MESSAGING_MIGRATIONS_TABLE,
  messagingMigrations,
  migrate,
} from '@mercato/chassis';
import {
  type Availability,
  createTestDatabase,
  createTestMessageStore,
  ProcessUnderTest,
  probePostgres,
  suiteTitle,
  waitFor,
} from '@mercato/chassis/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type LogicalPostgres,
  startLogicalPostgres,
} from '../../apps/legacy-cdc/test/support/logical-postgres.ts';
import {
  type CdcCrashReport,
  formatCdcCrashReport,
  writeCdcCrashReport,
} from '../support/cdc-crash-report.ts';
import {
  type CapturedEvent,
  checkCapture,
  checkFinalRows,
  type MonolithRows,
} from '../support/change-capture-check.ts';
import { tailChanges } from '../support/change-tail.ts';
import { seededRandom } from '../support/chaos.ts';
import { percentile } from '../support/chaos-report.ts';
import { type MonolithWriter, startMonolithWriter } from '../support/monolith-writer.ts';
import { repositoryRoot } from '../support/platform-process.ts';

/**
 * The seeded monolith without its order history (removed before the CDC starts: the snapshot is
 * tested elsewhere, and 60,000 rows less keep this test in CI's time): 5,000 customers, 200
 * products and their stock, and who writes customers, takes orders and signs customers up.
 */
const SEEDED_ROWS = 5_403;
const WRITES_PER_SECOND = 100;
const CONNECTIONS = 4;
/** Streaming undisturbed between one fault's recovery and the next. */
const STEADY_MS = 2_000;
/** Bounds on waits that only a broken run reaches (a slow CI machine takes a fraction of them). */
const RECOVERY_TIMEOUT_MS = 60_000;

const postgres = await probePostgres();
/**
 * The chaos suite runs once per bus in CI (MERCATO_BUS=nats the second time). This test is about
 * the CDC's path from the log to its outbox, which is the same whatever its relay publishes to, and
 * it counts in the PostgreSQL message store: it runs in the default run only.
 */
const runs: Availability = !postgres.available
  ? postgres
  : process.env.MERCATO_BUS === 'nats'
    ? {
        available: false,
        reason: 'it tests the CDC, not the bus: it runs once, in the default run (PostgreSQL message store)',
      }
    : { available: true };

/**
 * The crash test of change data capture from the legacy monolith. One embedded PostgreSQL
 * (`wal_level=logical`) holds the monolith's database, the CDC's own and the PostgreSQL message
 * store, as in the platform, so killing it kills the source and the outbox mid-transaction. The
 * CDC runs as a real process. Once its initial snapshot is on the bus, a writer commits small
 * transactions to the monolith on four connections (pairs committing at once) while the CDC is
 * `kill -9`-ed and started again, then PostgreSQL's postmaster is (it restarts itself; the CDC
 * reconnects on its own), then the CDC once more as it catches up. Asserted, transaction by
 * transaction against the truth read back from the monolith (ambiguous commits included): every
 * committed change on the bus once, in its transaction under one LSN, in log order per partition;
 * nothing of what did not commit; no change appended to the CDC's outbox twice (a trigger counts
 * appends: the bus's dedup would hide a second copy). Printed: writes, captures, each fault's
 * recovery, lag, goodput. Timings are figures, never assertions.
 */
describe.skipIf(!runs.available)(
  suiteTitle('legacy CDC while it and PostgreSQL are killed with -9 during streaming', runs),
  () => {
    const logger = createLogger({ service: 'test', level: 'silent' });
    const processes: ProcessUnderTest[] = [];
    let source: LogicalPostgres;
    let cdcUrl: string;
    let messagesUrl: string;
    let cdcDb: pg.Pool;
    let messages: pg.Pool;
    let legacy: pg.Pool;
    let writer: MonolithWriter | undefined;
    let report: CdcCrashReport | undefined;

    const resilientPool = (connectionString: string) => {
      const pool = new pg.Pool({ connectionString, max: 2, connectionTimeoutMillis: 2_000 });
      pool.on('error', () => undefined); // PostgreSQL is killed on purpose
      return pool;
    };
    const count = async (pool: pg.Pool, sql: string, values: unknown[] = []) =>
      Number((await pool.query<{ n: string }>(sql, values)).rows[0]?.n ?? 0);
    const startCdc = () => {
      const cdc = new ProcessUnderTest(
        ['--import', 'tsx', '--import', '@mercato/chassis/register', 'src/main.ts'],
        {
          cwd: path.join(repositoryRoot, 'apps', 'legacy-cdc'),
          env: {
            PATH: process.env.PATH ?? '',
            DATABASE_URL: cdcUrl,
            MESSAGES_DATABASE_URL: messagesUrl,
            LEGACY_DATABASE_URL: source.legacyUrl,
            LEGACY_CDC_HEARTBEAT_MS: '200',
            MERCATO_BUS: 'postgres',
            PORT: '0',
            LOG_LEVEL: 'info',
          },
        },
      );
      processes.push(cdc);
      return cdc;
    };

    beforeAll(async () => {
      source = await startLogicalPostgres();
      const seeded = new pg.Client({ connectionString: source.legacyUrl });
      await seeded.connect();
      await seeded.query('DELETE FROM order_lines; DELETE FROM orders');
      await seeded.end();
      cdcUrl = (await createTestDatabase('legacy_cdc', source.adminUrl)).url;
      messagesUrl = (await createTestMessageStore('legacy_cdc_messages', source.adminUrl)).url;
      // The chassis's outbox made before the CDC starts (it finds it migrated), with a trigger that
      // counts every append per message id: a change appended twice would otherwise pass unseen,
      // its first copy relayed and deleted, its second dropped by the bus's dedup.
      const setup = createPool({ url: cdcUrl, max: 1, applicationName: 'test' }, logger);
      await migrate(setup, messagingMigrations, logger, MESSAGING_MIGRATIONS_TABLE);
      await setup.query(`
        CREATE TABLE outbox_appends (message_id text PRIMARY KEY, appends integer NOT NULL);
        CREATE FUNCTION count_outbox_appends() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO outbox_appends (message_id, appends)
          SELECT message_id, count(*) FROM appended GROUP BY message_id
          ON CONFLICT (message_id) DO UPDATE SET appends = outbox_appends.appends + excluded.appends;
          RETURN NULL;
        END $$;
        CREATE TRIGGER count_appends AFTER INSERT ON mercato_outbox REFERENCING NEW TABLE AS appended
          FOR EACH STATEMENT EXECUTE FUNCTION count_outbox_appends();`);
      await setup.end();
      cdcDb = resilientPool(cdcUrl);
      messages = resilientPool(messagesUrl);
      legacy = resilientPool(source.legacyUrl);
    });

    afterAll(async () => {
      await writer?.stop().catch(() => undefined);
      for (const cdc of processes) await cdc.kill('SIGKILL');
      const directory = await writeCdcCrashReport(
        report,
        processes.map((cdc) => cdc.lines),
      );
      console.log(`legacy CDC crash test: report and the CDC processes' output in ${directory}`);
      await Promise.all([cdcDb?.end(), messages?.end(), legacy?.end()]);
      await source?.stop();
    });

    it('captures every committed change once, in order, through kill -9 of the CDC and of PostgreSQL', async () => {
      const began = Date.now();
      let cdc = startCdc();
      const snapshotMs = await waitFor(
        'the initial snapshot on the bus',
        async () => (await count(messages, 'SELECT count(*)::text AS n FROM bus_messages')) >= SEEDED_ROWS,
        120_000,
        250,
      );
      const snapshotEnd = await count(messages, 'SELECT max(position)::text AS n FROM bus_messages');
      // A checkpoint, as a server that has run a while has had one: crash recovery then replays the
      // streaming's log, not also the seeding's and the snapshot's (seconds on a busy machine).
      await legacy.query('CHECKPOINT');

      const tail = tailChanges(messages, snapshotEnd);
      const faults: CdcCrashReport['faults'] = [];
      let writing = Date.now();
      /** Records a kill, then waits for the bus to show a change committed after it. */
      const fault = async (killed: 'cdc' | 'postgres', kill: () => Promise<void>) => {
        const at = Date.now();
        const back = await kill().then(() => Date.now());
        const moving = await tail.movingAgainAfter(at, RECOVERY_TIMEOUT_MS);
        faults.push({
          killed,
          at_s: Number(((at - writing) / 1000).toFixed(1)),
          ...(killed === 'postgres' ? { back_ms: back - at } : {}),
          moving_again_ms: moving === undefined ? null : moving - at,
        });
      };
      const killCdc = async () => {
        await cdc.kill('SIGKILL');
        cdc = startCdc();
      };
      /** The postmaster: the monolith, the CDC's outbox and the bus at once. It restarts itself. */
      const killPostgres = async () => {
        let restarted = false;
        source.server.onRestarted(() => {
          restarted = true;
        });
        process.kill(source.server.pid as number, 'SIGKILL');
        await waitFor('PostgreSQL accepting connections again', () => restarted, RECOVERY_TIMEOUT_MS, 20);
      };

      writer = await startMonolithWriter({
        url: source.legacyUrl,
        connections: CONNECTIONS,
        perSecond: WRITES_PER_SECOND,
        random: seededRandom(),
      });
      writing = Date.now();
      await sleep(STEADY_MS + 1_000);
      await fault('cdc', killCdc);
      await sleep(STEADY_MS);
      await fault('postgres', killPostgres);
      // …and the CDC again right after it reconnected on its own, as it catches up.
      await fault('cdc', killCdc);
      await sleep(STEADY_MS);

      // The log at the writer's end, then caught up: the slot confirmed past it (the CDC confirms a
      // transaction only once it is in its outbox; heartbeats carry it past the last write) and the
      // relay has emptied the outbox onto the bus.
      const transactions = await writer.stop();
      const writerStopped = Date.now();
      writer = undefined;
      const { rows: end } = await legacy.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
      const caughtUpMs = await waitFor(
        'the stream caught up with the monolith',
        async () =>
          (await count(
            legacy,
            'SELECT count(*)::text AS n FROM pg_replication_slots WHERE confirmed_flush_lsn >= $1::pg_lsn',
            [end[0]?.lsn],
          )) === 1 && (await count(cdcDb, 'SELECT count(*)::text AS n FROM mercato_outbox')) === 0,
        RECOVERY_TIMEOUT_MS,
        50,
      ).catch(() => undefined);
      await sleep(500); // a late second copy would show by now
      await tail.stop();

      // What is on the bus, what the outbox took, what the monolith holds.
      const { rows: onBus } = await messages.query<{
        position: string;
        destination: string;
        partition_key: string;
        envelope: CapturedEvent['envelope'];
      }>(
        // Ordered by the column: a bare `position` names the text output column, and as text 10000
        // sorts before 9999 (a slow run's writer passed 10,000 positions and failed on that alone).
        `SELECT position::text, destination, partition_key, envelope FROM bus_messages
         WHERE position > $1 ORDER BY bus_messages.position`,
        [snapshotEnd],
      );
      const events: CapturedEvent[] = onBus.map((row) => ({
        position: Number(row.position),
        destination: row.destination,
        partitionKey: row.partition_key,
        envelope: row.envelope,
      }));
      const stream = events.filter((event) => event.envelope.data.source.kind === 'stream');
      const captured = checkCapture(transactions, stream);
      const monolith: MonolithRows = {
        markers: (
          await legacy.query<MonolithRows['markers'][0]>(
            `SELECT id::text, email, name, address FROM customers WHERE email LIKE '%@crash.example'`,
          )
        ).rows,
        stock: (await legacy.query<MonolithRows['stock'][0]>('SELECT product_id::text, quantity FROM stock'))
          .rows,
      };
      const final = checkFinalRows(stream, monolith);
      const snapshots = await count(
        messages,
        `SELECT count(*)::text AS n FROM bus_messages WHERE envelope->'data'->'source'->>'kind' = 'snapshot'`,
      );
      const appendedTwice = (
        await cdcDb.query<{ message_id: string; appends: number }>(
          'SELECT message_id, appends FROM outbox_appends WHERE appends > 1 ORDER BY message_id',
        )
      ).rows.map((row) => `${row.message_id} ×${row.appends}`);
      const appendedFromTheLog = await count(
        cdcDb,
        `SELECT count(*)::text AS n FROM outbox_appends WHERE message_id LIKE 'cdc_t%'`,
      );

      const violations: Record<string, string[]> = {
        ...captured.violations,
        ...final.violations,
        appended_to_the_outbox_twice: appendedTwice,
        outbox_and_bus_differ:
          appendedFromTheLog === stream.length
            ? []
            : [`${appendedFromTheLog} appended from the log, ${stream.length} on the bus`],
        not_a_stream_change: events
          .filter((event) => event.envelope.data.source.kind !== 'stream')
          .map((event) => event.envelope.event_id),
        snapshot_not_once: snapshots === SEEDED_ROWS ? [] : [`${snapshots} snapshot rows`],
        // The truth itself: a COMMIT the monolith acknowledged is in it after the crash.
        acknowledged_commit_not_in_the_monolith: transactions
          .filter((tx) => tx.outcome === 'committed' && !tx.committed)
          .map((tx) => `tx ${tx.xid}`),
      };
      const committed = transactions.filter((tx) => tx.committed);
      const ambiguous = transactions.filter((tx) => tx.outcome === 'ambiguous');
      const lags = tail.seen.map((change) => change.seenAt - change.committedAt);
      report = {
        test: 'legacy-cdc',
        snapshot: { rows: snapshots, on_the_bus_ms: snapshotMs },
        writer: {
          connections: CONNECTIONS,
          offered_per_s: WRITES_PER_SECOND,
          seconds: Number(((writerStopped - writing) / 1000).toFixed(1)),
          transactions: transactions.length,
          committed: committed.length,
          ambiguous: ambiguous.length,
          ambiguous_committed: ambiguous.filter((tx) => tx.committed).length,
          xids_reused: transactions.filter((tx) => tx.xidReused).length,
        },
        changes_committed: captured.committedChanges,
        changes_captured: captured.capturedChanges,
        per_table: captured.perTable,
        on_the_bus_when_writer_stopped: tail.seen.filter((change) => change.seenAt <= writerStopped).length,
        faults,
        lag_ms: { p50: percentile(lags, 50), p99: percentile(lags, 99), max: Math.max(0, ...lags) },
        caught_up_after_writer_ms: caughtUpMs ?? null,
        safety: Object.fromEntries(Object.entries(violations).map(([name, found]) => [name, found.length])),
        load_average: Number(loadavg()[0]?.toFixed(2)),
        wall_s: Math.round((Date.now() - began) / 1000),
      };
      console.log(formatCdcCrashReport(report));

      expect(committed.length).toBeGreaterThan(0);
      expect(final.inMonolith).toBeGreaterThan(0);
      // A few examples of each violation, if any (the report's safety line counts them all).
      expect(
        Object.fromEntries(Object.entries(violations).map(([name, found]) => [name, found.slice(0, 5)])),
      ).toEqual(Object.fromEntries(Object.keys(violations).map((name) => [name, []])));
      expect(captured.capturedChanges).toBe(captured.committedChanges);
      expect(final.inserted).toBe(final.inMonolith);
    });
  },
);
