import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, inTransaction, type Pool, type Transaction } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import {
  EVENT_STORE_MIGRATIONS_TABLE,
  eventStoreMigrations,
  LOG_START,
  type NewEvent,
  PostgresEventStore,
  type StoredEvent,
} from '../src/event-sourcing/postgres-event-store.ts';
import { ProjectionRunner } from '../src/event-sourcing/projection-runner.ts';
import { createLogger } from '../src/logging/create-logger.ts';
import { createTestDatabase, probePostgres, suiteTitle } from '../src/testing/infra.ts';
import { serviceLikeRole, transactionInAnotherDatabase } from './fixtures/other-sessions.ts';

const postgres = await probePostgres();
const logger = createLogger({ service: 'event-store-test', level: 'silent' });

let sequence = 0;
const added = (amount: number): NewEvent => ({
  eventId: `evt_${++sequence}`,
  type: 'counter.added',
  data: { amount },
});

/** A transaction held open until `commit` is called: to commit appends out of order. */
async function openTransaction(pool: Pool) {
  const client = await pool.connect();
  await client.query('BEGIN');
  return {
    transaction: client as Transaction,
    commit: async () => {
      await client.query('COMMIT');
      client.release();
    },
  };
}

describe.skipIf(!postgres.available)(suiteTitle('the PostgreSQL event store', postgres), () => {
  let pool: Pool;
  let store: PostgresEventStore;
  let drop: () => Promise<void>;
  let url = '';

  beforeAll(async () => {
    const database = await createTestDatabase('event_store');
    drop = database.drop;
    url = database.url;
    pool = createPool({ url: database.url, max: 8, applicationName: 'test' }, logger);
    await migrate(pool, eventStoreMigrations, logger, EVENT_STORE_MIGRATIONS_TABLE);
    // Version 1 of counter.added said `by`; the upcaster renames it, as a v2 would have it.
    store = new PostgresEventStore(pool, {
      'counter.added': (event) =>
        event.version === 1 && 'by' in event.data
          ? { ...event, version: 2, data: { amount: event.data.by } }
          : event,
    });
  });
  afterAll(async () => {
    await pool.end();
    await drop();
  });

  const sum = (total: number, event: StoredEvent) => total + Number(event.data.amount);

  it('appends with optimistic concurrency: a stale expected version is a retryable conflict', async () => {
    const stream = `counter-${Date.now()}`;
    const version = await inTransaction(pool, (tx) => store.append(tx, stream, 0, [added(1), added(2)]));
    expect(version).toBe(2);
    const stale = inTransaction(pool, (tx) => store.append(tx, stream, 1, [added(5)]));
    await expect(stale).rejects.toMatchObject({ code: 'EVENTS.CONCURRENCY_CONFLICT', retryable: true });
    // The caller's transaction stays usable after the conflict, and nothing was written.
    await inTransaction(pool, async (tx) => {
      await expect(store.append(tx, stream, 0, [added(9)])).rejects.toMatchObject({ kind: 'conflict' });
      await store.append(tx, stream, 2, [added(3)]);
    });
    expect((await store.load(stream, sum, 0)).state).toBe(6);
    expect((await store.readStream(stream)).map((event) => event.streamVersion)).toEqual([1, 2, 3]);
  });

  it('answers state as of a time, and loads from a snapshot plus later events', async () => {
    const stream = `counter-asof-${Date.now()}`;
    await inTransaction(pool, (tx) => store.append(tx, stream, 0, [added(10)]));
    const between = new Date();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await inTransaction(pool, (tx) => store.append(tx, stream, 1, [added(5)]));
    expect((await store.load(stream, sum, 0, { asOf: between })).state).toBe(10);
    // A snapshot says 100 at version 1 (deliberately not the events' sum): loading starts from it.
    await inTransaction(pool, (tx) => store.saveSnapshot(tx, stream, 1, 100));
    expect(await store.load(stream, sum, 0)).toEqual({ state: 105, version: 2 });
    // As of a time, the snapshot (which may be newer) is not used.
    expect((await store.load(stream, sum, 0, { asOf: between })).state).toBe(10);
  });

  it('answers as of a time with the versions up to one recorded later, never a version without those before it', async () => {
    const stream = `counter-gapless-${Date.now()}`;
    const versionsAsOf = async (asOf: Date) => ({
      read: (await store.readStream(stream, { asOf })).map((event) => event.streamVersion),
      loaded: (await store.load(stream, sum, 0, { asOf })).version,
    });
    const pause = () => new Promise((resolve) => setTimeout(resolve, 20));
    // B begins; A appends version 1 and commits; B then appends version 2 after it.
    const b = await openTransaction(pool);
    await b.transaction.query('SELECT 1');
    await pause();
    const beforeA = new Date();
    await pause();
    await inTransaction(pool, (tx) => store.append(tx, stream, 0, [added(1)]));
    await pause();
    const afterA = new Date();
    await pause();
    await store.append(b.transaction, stream, 1, [added(2)]);
    await b.commit();
    // Version 2 was written after version 1, whenever B's transaction began.
    expect(await versionsAsOf(beforeA)).toEqual({ read: [], loaded: 0 });
    expect(await versionsAsOf(afterA)).toEqual({ read: [1], loaded: 1 });
    expect(await versionsAsOf(new Date())).toEqual({ read: [1, 2], loaded: 2 });

    // Should the recorded times disagree with the versions (a clock stepped back), an answer is
    // still a prefix: it ends before the first version recorded after the time asked.
    await pool.query(
      `UPDATE es_events SET recorded_at = recorded_at + interval '1 hour' WHERE stream_id = $1 AND stream_version = 1`,
      [stream],
    );
    expect(await versionsAsOf(new Date())).toEqual({ read: [], loaded: 0 });
  });

  it('never lets a reader of the log skip an event whose transaction commits after a later one', async () => {
    const stream = (name: string) => `${name}-${Date.now()}`;
    const start = await inTransaction(
      pool,
      async () => (await store.readAll(LOG_START, 10_000)).at(-1)?.position,
    );
    const from = start ?? LOG_START;

    // B takes its transaction id first (a write of its own), C then takes an earlier position than
    // B's event gets; B commits first. Ordered by position alone, C would be skipped.
    const b = await openTransaction(pool);
    await b.transaction.query('SELECT pg_current_xact_id()');
    const c = await openTransaction(pool);
    await store.append(c.transaction, stream('c'), 0, [added(1)]);
    await store.append(b.transaction, stream('b'), 0, [added(2)]);
    await b.commit();
    const seenBeforeC = await store.readAll(from);
    expect(seenBeforeC.map((event) => event.data.amount)).toEqual([2]);

    await c.commit();
    const afterB = seenBeforeC.at(-1)?.position ?? from;
    expect((await store.readAll(afterB)).map((event) => event.data.amount)).toEqual([1]);

    // And an open transaction holds back everything committed after it began.
    const a = await openTransaction(pool);
    await store.append(a.transaction, stream('a'), 0, [added(3)]);
    await inTransaction(pool, (tx) => store.append(tx, stream('d'), 0, [added(4)]));
    const last = (await store.readAll(from)).at(-1)?.position ?? from;
    expect(await store.readAll(last)).toEqual([]);
    await a.commit();
    expect((await store.readAll(last)).map((event) => event.data.amount)).toEqual([3, 4]);
  });

  it('is held back by a transaction of its own database only, never by one open in another', async () => {
    // Read as a service reads it: a role of its own, which sees other roles' sessions only as any role does.
    const role = await serviceLikeRole(url, ['es_events']);
    const readerPool = createPool({ url: role.url, max: 2, applicationName: 'reader' }, logger);
    const reader = new PostgresEventStore(readerPool);
    const elsewhere = await transactionInAnotherDatabase();
    try {
      const from = await reader.head();
      const stream = (name: string) => `horizon-${name}-${Date.now()}`;
      await inTransaction(pool, (tx) => store.append(tx, stream('a'), 0, [added(1)]));
      // The first read after the commit sees it, while the other database's transaction stays open.
      const first = await reader.readAll(from);
      expect(first.map((event) => event.data.amount)).toEqual([1]);

      // A transaction of this database that took an earlier position still holds everything after it.
      const slow = await openTransaction(pool);
      await store.append(slow.transaction, stream('slow'), 0, [added(2)]);
      await inTransaction(pool, (tx) => store.append(tx, stream('b'), 0, [added(3)]));
      const after = first.at(-1)?.position ?? from;
      expect(await reader.readAll(after)).toEqual([]);
      expect(await reader.head()).toEqual(after);
      await slow.commit();
      expect((await reader.readAll(after)).map((event) => event.data.amount)).toEqual([2, 3]);
    } finally {
      await elsewhere.end();
      await readerPool.end();
      await role.drop();
    }
  });

  it('reads the log in position order across a change in the number of digits (99 → 100)', async () => {
    const from = await store.head();
    await pool.query("SELECT setval(pg_get_serial_sequence('es_events', 'global_position'), 97)");
    const stream = `counter-digits-${Date.now()}`;
    await inTransaction(pool, (tx) =>
      store.append(tx, stream, 0, [added(101), added(102), added(103), added(104)]),
    );
    const seen: number[] = [];
    for (
      let after = from, batch = await store.readAll(after, 2);
      batch.length > 0;
      batch = await store.readAll(after, 2)
    ) {
      seen.push(...batch.map((event) => Number(event.data.amount)));
      after = batch.at(-1)?.position ?? after;
    }
    expect(seen).toEqual([101, 102, 103, 104]);
    expect((await store.head()).globalPosition).toBe('101');
  });

  it('upcasts an old event version on every read', async () => {
    const stream = `counter-v1-${Date.now()}`;
    await inTransaction(pool, (tx) =>
      store.append(tx, stream, 0, [
        { eventId: `evt_v1_${Date.now()}`, type: 'counter.added', version: 1, data: { by: 7 } },
      ]),
    );
    const [event] = await store.readStream(stream);
    expect(event).toMatchObject({ version: 2, data: { amount: 7 } });
  });

  it('rebuilds a projection from the start of the log to the same view', async () => {
    await pool.query('CREATE TABLE IF NOT EXISTS totals (stream_id text PRIMARY KEY, total int NOT NULL)');
    const runner = new ProjectionRunner(pool, store, {
      name: 'totals',
      apply: async (tx, events) => {
        for (const event of events)
          await tx.query(
            `INSERT INTO totals VALUES ($1, $2) ON CONFLICT (stream_id) DO UPDATE SET total = totals.total + $2`,
            [event.streamId, Number(event.data.amount)],
          );
      },
      reset: async (tx) => {
        await tx.query('TRUNCATE totals');
      },
    });
    for (let i = 0; i < 5; i += 1)
      await inTransaction(pool, (tx) =>
        store.append(tx, `projected-${i}-${Date.now()}`, 0, [added(i), added(10)]),
      );
    await runner.catchUp(3);
    const view = async () => (await pool.query('SELECT * FROM totals ORDER BY stream_id')).rows;
    const live = await view();
    expect(live.length).toBeGreaterThanOrEqual(5);
    // Caught up: nothing more to apply, and applying again changes nothing.
    expect(await runner.catchUp()).toBe(0);
    await runner.reset();
    expect(await view()).toEqual([]);
    await runner.catchUp(7);
    expect(await view()).toEqual(live);
  });
});
