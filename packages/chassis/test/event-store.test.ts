import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, inTransaction, type Pool, type Transaction } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import {
  EVENT_STORE_MIGRATIONS_TABLE,
  type EventSchemas,
  eventStoreMigrations,
  LOG_START,
  type NewEvent,
  PostgresEventStore,
  type SnapshotSchema,
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
  data: { amount, unit: 'piece' },
});

/** counter.added said `by` at version 1, `amount` at 2, and added `unit` at 3. */
const counterSchemas = (steps: 'every step' | 'from 2 only' = 'every step'): EventSchemas => ({
  'counter.added': {
    version: 3,
    upcasters: [
      ...(steps === 'every step'
        ? [
            {
              from: 1,
              to: 2,
              upcast: ({ by, ...data }: Record<string, unknown>) => ({ ...data, amount: by }),
            },
          ]
        : []),
      { from: 2, to: 3, upcast: (data: Record<string, unknown>) => ({ unit: 'piece', ...data }) },
    ],
  },
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
    store = new PostgresEventStore(pool, counterSchemas());
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
    const schema: SnapshotSchema = { version: 1 };
    await inTransaction(pool, (tx) => store.saveSnapshot(tx, stream, 1, 100, schema));
    expect(await store.load(stream, sum, 0, { snapshot: schema })).toEqual({ state: 105, version: 2 });
    // As of a time, the snapshot (which may be newer) is not used.
    expect((await store.load(stream, sum, 0, { asOf: between, snapshot: schema })).state).toBe(10);
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
    const reader = new PostgresEventStore(readerPool, counterSchemas());
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

    // Rebuilt while its background catch-up runs (woken often): the rebuild applies, and counts,
    // the whole log itself; the background waits instead of taking part of it.
    const total =
      (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM es_events')).rows[0]?.n ?? 0;
    runner.start(1, () => undefined);
    const waking = setInterval(() => runner.wake(), 1);
    try {
      for (let round = 0; round < 5; round += 1) {
        expect(await runner.rebuild(1)).toBe(total);
        expect(await view()).toEqual(live);
      }
    } finally {
      clearInterval(waking);
      await runner.stop();
    }
  });

  it('creates its checkpoint on the first batch and then locks it with one statement a batch', async () => {
    const counted = createPool({ url, max: 2, applicationName: 'test' }, logger);
    const statements: string[] = [];
    const connect = counted.connect.bind(counted) as () => Promise<Transaction>;
    const wrapped = new WeakSet<object>();
    (counted as unknown as { connect: () => Promise<Transaction> }).connect = async () => {
      const client = await connect();
      if (wrapped.has(client)) return client;
      wrapped.add(client);
      const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
      (client as unknown as { query: (...args: unknown[]) => Promise<unknown> }).query = (...args) => {
        const text = typeof args[0] === 'string' ? args[0] : '';
        if (text.includes('es_checkpoints')) statements.push(text.trim().split(/\s+/)[0] ?? '?');
        return query(...args);
      };
      return client;
    };
    const runner = new ProjectionRunner(counted, store, {
      name: `counted-${Date.now()}`,
      apply: async () => undefined,
      reset: async () => undefined,
    });
    try {
      await inTransaction(pool, (tx) => store.append(tx, `checkpointed-a-${Date.now()}`, 0, [added(1)]));
      await runner.catchUp(1_000);
      // The first batch: the lock finds no row, creates it, locks it; then moves it.
      expect(statements).toEqual(['SELECT', 'INSERT', 'SELECT', 'UPDATE']);
      statements.length = 0;
      await inTransaction(pool, (tx) => store.append(tx, `checkpointed-b-${Date.now()}`, 0, [added(2)]));
      expect(await runner.catchUp(1_000)).toBe(1);
      expect(statements).toEqual(['SELECT', 'UPDATE']);
    } finally {
      await counted.end();
    }
  });

  it('loads a snapshot of its own schema or of an older one it upcasts, and replays past any other', async () => {
    // A tally's snapshot was a bare total at version 1, { total } at 2, { total, currency } at 3.
    type Tally = { total: number; currency: string };
    const tally = (state: Tally, event: StoredEvent): Tally => ({
      ...state,
      total: state.total + Number(event.data.amount),
    });
    const empty: Tally = { total: 0, currency: 'EUR' };
    const toTwo = { from: 1, to: 2, upcast: (total: unknown) => ({ total }) };
    const toThree = {
      from: 2,
      to: 3,
      upcast: (state: unknown) => ({ currency: 'EUR', ...(state as object) }),
    };
    const current: SnapshotSchema = { version: 3, upcasters: [toTwo, toThree] };
    const stream = `tally-${Date.now()}`;
    await inTransaction(pool, (tx) => store.append(tx, stream, 0, [added(10), added(5)]));
    const load = (snapshot?: SnapshotSchema) =>
      store.load(stream, tally, empty, snapshot ? { snapshot } : {});

    // Saved by a release of version 1 as 100 at stream version 1 (not the events' sum, to tell it
    // was used): upcast 1 → 2 → 3, then the later event folded on.
    await inTransaction(pool, (tx) => store.saveSnapshot(tx, stream, 1, 100, { version: 1 }));
    expect(await load(current)).toEqual({ state: { total: 105, currency: 'EUR' }, version: 2 });
    // No chain from 1 (only 2 → 3): passed over, the stream replayed from its first event.
    expect(await load({ version: 3, upcasters: [toThree] })).toEqual({
      state: { total: 15, currency: 'EUR' },
      version: 2,
    });
    // A loader that names no snapshot schema uses none.
    expect((await load()).state).toEqual({ total: 15, currency: 'EUR' });

    // Saved by a newer release (version 4, a shape this one does not know): replayed.
    await inTransaction(pool, (tx) =>
      store.saveSnapshot(tx, stream, 2, { sum: 900, currency: 'EUR' }, { version: 4 }),
    );
    expect(await load(current)).toEqual({ state: { total: 15, currency: 'EUR' }, version: 2 });
    // Saved before snapshots had versions (shape unknown): replayed.
    await pool.query('UPDATE es_snapshots SET schema_version = NULL, state = $2 WHERE stream_id = $1', [
      stream,
      JSON.stringify({ total: 900, currency: 'EUR' }),
    ]);
    expect(await load(current)).toEqual({ state: { total: 15, currency: 'EUR' }, version: 2 });
    // Its own version: used as it is.
    await pool.query('UPDATE es_snapshots SET schema_version = 3 WHERE stream_id = $1', [stream]);
    expect(await load(current)).toEqual({ state: { total: 900, currency: 'EUR' }, version: 2 });
  });

  it('brings old event versions up along their chain of upcasters, and refuses one it cannot read', async () => {
    const stream = `counter-versions-${Date.now()}`;
    await inTransaction(pool, (tx) =>
      store.append(tx, stream, 0, [
        { eventId: `evt_v1_${Date.now()}`, type: 'counter.added', version: 1, data: { by: 7 } },
        { eventId: `evt_v2_${Date.now()}`, type: 'counter.added', version: 2, data: { amount: 8 } },
        added(9),
      ]),
    );
    const read = await store.readStream(stream);
    expect(read.map((event) => [event.version, event.data])).toEqual([
      [3, { amount: 7, unit: 'piece' }],
      [3, { amount: 8, unit: 'piece' }],
      [3, { amount: 9, unit: 'piece' }],
    ]);
    // Written at the current version by default.
    const { rows } = await pool.query<{ event_version: number }>(
      'SELECT event_version FROM es_events WHERE stream_id = $1 ORDER BY stream_version',
      [stream],
    );
    expect(rows.map((row) => row.event_version)).toEqual([1, 2, 3]);

    // A release whose chain lacks 1 → 2 refuses the first event rather than fold it without `amount`.
    const missingStep = new PostgresEventStore(pool, counterSchemas('from 2 only'));
    await expect(missingStep.readStream(stream)).rejects.toMatchObject({
      code: 'EVENTS.UNREADABLE_VERSION',
      message: expect.stringMatching(/counter.added is at version 1, with no upcaster to 3/),
    });

    // A newer release's event (version 4) is neither written nor read by this one.
    const newer = { eventId: `evt_v4_${Date.now()}`, type: 'counter.added', version: 4, data: { amount: 1 } };
    await expect(
      inTransaction(pool, (tx) => store.append(tx, `${stream}-newer`, 0, [newer])),
    ).rejects.toMatchObject({ code: 'EVENTS.UNREADABLE_VERSION' });
    const from = await store.head();
    await pool.query(
      `INSERT INTO es_events (stream_id, stream_version, event_id, event_type, event_version, data)
       VALUES ($1, 1, $2, 'counter.added', 4, '{"amount": 1}')`,
      [`${stream}-newer`, newer.eventId],
    );
    try {
      const refused = { code: 'EVENTS.UNREADABLE_VERSION', message: expect.stringMatching(/newer than 3/) };
      await expect(store.readStream(`${stream}-newer`)).rejects.toMatchObject(refused);
      await expect(store.load(`${stream}-newer`, sum, 0)).rejects.toMatchObject(refused);
      // A projection stops at it rather than fold it wrongly.
      await expect(store.readAll(from)).rejects.toMatchObject(refused);
    } finally {
      await pool.query('DELETE FROM es_events WHERE event_id = $1', [newer.eventId]);
    }
  });
});
