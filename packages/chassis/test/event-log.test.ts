import { createEnvelope, defineEvent } from '@mercato/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { createPool, type Pool } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { createLogger } from '../src/logging/create-logger.ts';
import { messageStoreMigrations } from '../src/messaging/migrations-path.ts';
import { PostgresMessageBus } from '../src/messaging/postgres-bus/postgres-message-bus.ts';
import type { EventLog } from '../src/projections/event-log.port.ts';
import { PostgresEventLog } from '../src/projections/postgres-event-log.ts';
import {
  createTestDatabase,
  probeNats,
  probePostgres,
  removeNatsStreams,
  suiteTitle,
  testNatsUrl,
} from '../src/testing/infra.ts';
import { serviceLikeRole, transactionInAnotherDatabase } from './fixtures/other-sessions.ts';

const postgres = await probePostgres();
const nats = await probeNats();
const logger = createLogger({ service: 'log-test', level: 'silent' });
const happened = defineEvent({
  type: 'logtest.happened',
  version: '1.0',
  schema: z.object({ n: z.number() }),
});
const other = defineEvent({ type: 'logtest.other', version: '1.0', schema: z.object({ n: z.number() }) });
const envelope = (n: number, contract = happened) =>
  createEnvelope({ contract, source: 'test', correlationId: 'c', data: { n } });
const numbers = (events: Array<{ envelope: unknown }>) =>
  events.map((event) => (event.envelope as { data: { n: number } }).data.n);

/** Reads the whole log of `topics` in batches of `limit`, as a read model would. */
async function readAll(log: EventLog, topics: string[], limit: number) {
  let position: string | null = null;
  const seen: number[] = [];
  for (;;) {
    const read = await log.read(topics, position, { limit });
    seen.push(...numbers(read.events));
    // A read may step over other topics' messages only: done when the position stops moving.
    if (read.position === position) return { seen, position };
    position = read.position;
  }
}

describe.skipIf(!postgres.available)(suiteTitle('PostgreSQL event log', postgres), () => {
  let url = '';
  let pool: Pool;
  let drop: () => Promise<void> = async () => undefined;

  beforeAll(async () => {
    const database = await createTestDatabase('eventlog');
    url = database.url;
    drop = database.drop;
    pool = createPool({ url, max: 5, applicationName: 'log-test' }, logger);
    await migrate(pool, messageStoreMigrations, logger, 'bus_migrations');
  });
  afterAll(async () => {
    await pool?.end();
    await drop();
  });

  it('never passes a message whose transaction commits after a later one', async () => {
    const bus = new PostgresMessageBus({ pool, listenUrl: url, logger });
    const log = new PostgresEventLog(pool);
    const topics = [happened.type];
    await bus.publish([{ kind: 'topic', destination: happened.type, key: 'k', envelope: envelope(1) }]);
    // A publisher that took its position and has not committed yet...
    const slow = await pool.connect();
    await slow.query('BEGIN');
    await slow.query(
      `INSERT INTO bus_messages (kind, destination, partition_key, message_id, envelope) VALUES ('topic', $1, 'k', 'slow', $2)`,
      [happened.type, JSON.stringify(envelope(2))],
    );
    // ...while a later one commits.
    await bus.publish([{ kind: 'topic', destination: happened.type, key: 'k', envelope: envelope(3) }]);
    const before = await log.read(topics, null, { limit: 10 });
    expect(numbers(before.events)).toEqual([1]);
    expect(log.reached(before.position, await log.head(topics))).toBe(true);
    await slow.query('COMMIT');
    slow.release();
    const after = await log.read(topics, before.position, { limit: 10 });
    expect(numbers(after.events)).toEqual([2, 3]);
    expect(await log.countAfter(topics, before.position, 100)).toBe(2);
    await bus.close();
  });

  it('is held back by a publish of the message store only, never by a transaction of another database', async () => {
    const bus = new PostgresMessageBus({ pool, listenUrl: url, logger });
    // Read as a read model's service reads it: a role of its own.
    const role = await serviceLikeRole(url, ['bus_messages']);
    const readerPool = createPool({ url: role.url, max: 2, applicationName: 'reader' }, logger);
    const log = new PostgresEventLog(readerPool);
    const elsewhere = await transactionInAnotherDatabase();
    const topics = [happened.type];
    const publish = (n: number) =>
      bus.publish([{ kind: 'topic', destination: happened.type, key: 'k', envelope: envelope(n) }]);
    try {
      const start = await log.head(topics);
      await publish(31);
      // The first read after the publish sees it, while the other database's transaction stays open.
      const first = await log.read(topics, start, { limit: 10 });
      expect(numbers(first.events)).toEqual([31]);

      // A publisher of the store that took an earlier position still holds everything after it.
      const slow = await pool.connect();
      await slow.query('BEGIN');
      await slow.query(
        `INSERT INTO bus_messages (kind, destination, partition_key, message_id, envelope) VALUES ('topic', $1, 'k', 'slow-31', $2)`,
        [happened.type, JSON.stringify(envelope(32))],
      );
      await publish(33);
      expect((await log.read(topics, first.position, { limit: 10 })).events).toEqual([]);
      await slow.query('COMMIT');
      slow.release();
      expect(numbers((await log.read(topics, first.position, { limit: 10 })).events)).toEqual([32, 33]);
    } finally {
      await elsewhere.end();
      await readerPool.end();
      await role.drop();
      await bus.close();
    }
  });

  it('reads in position order across a change in the number of digits (99 → 100)', async () => {
    const bus = new PostgresMessageBus({ pool, listenUrl: url, logger });
    const log = new PostgresEventLog(pool);
    const digits = 'logtest.digits';
    await pool.query("SELECT setval(pg_get_serial_sequence('bus_messages', 'position'), 97)");
    await bus.publish(
      [1, 2, 3, 4].map((n) => ({
        kind: 'topic' as const,
        destination: digits,
        key: 'k',
        envelope: envelope(n),
      })),
    );
    expect((await readAll(log, [digits], 2)).seen).toEqual([1, 2, 3, 4]);
    expect(await log.head([digits])).toMatch(/\.101$/);
    await bus.close();
  });

  it('reads only the topics asked for, in batches, and stops at upTo', async () => {
    const bus = new PostgresMessageBus({ pool, listenUrl: url, logger });
    const log = new PostgresEventLog(pool);
    const start = await log.head([other.type]);
    await bus.publish(
      [20, 21].map((n) => ({
        kind: 'topic' as const,
        destination: happened.type,
        key: 'k',
        envelope: envelope(n),
      })),
    );
    await bus.publish(
      [10, 11, 12, 13, 14].map((n) => ({
        kind: 'topic' as const,
        destination: other.type,
        key: `k${n}`,
        envelope: envelope(n, other),
      })),
    );
    const all = await readAll(log, [other.type], 2);
    expect(all.seen).toEqual([10, 11, 12, 13, 14]);
    expect(log.reached(all.position, await log.head([other.type]))).toBe(true);
    // Past happened's 20 and 21 (stepped over, not returned), then 10 and 11 of other.
    const first = await log.read([other.type], start, { limit: 4 });
    expect(numbers(first.events)).toEqual([10, 11]);
    const upTo = await log.read([other.type], start, { limit: 100, upTo: first.position });
    expect(numbers(upTo.events)).toEqual([10, 11]);
    await bus.close();
  });
});

describe.skipIf(!nats.available)(suiteTitle('JetStream event log', nats), () => {
  it('reads every topic of a stream in order, per topic, from any position', async () => {
    const { NatsMessageBus } = await import('../src/messaging/nats-bus/nats-message-bus.ts');
    const { NatsEventLog } = await import('../src/projections/nats-event-log.ts');
    const suffix = Date.now().toString(36);
    const a = `logtest${suffix}.a`;
    const b = `logtest${suffix}.b`;
    const c = `logtest${suffix}.c`;
    const bus = await NatsMessageBus.connect({ url: testNatsUrl(), logger });
    const log = await NatsEventLog.connect(testNatsUrl());
    try {
      const message = (destination: string, n: number) => ({
        kind: 'topic' as const,
        destination,
        key: `k${n % 3}`,
        envelope: envelope(n),
      });
      await bus.publish([message(a, 1), message(b, 2), message(c, 3), message(a, 4), message(b, 5)]);
      const all = await readAll(log, [a, b], 2);
      // In publish order: one context is one stream, scanned in its own order.
      expect(all.seen).toEqual([1, 2, 4, 5]);
      expect(log.reached(all.position, await log.head([a, b]))).toBe(true);
      await bus.publish([message(b, 6), message(c, 7)]);
      const next = await log.read([a, b], all.position, { limit: 10 });
      expect(numbers(next.events)).toEqual([6]);
      expect(await log.countAfter([a, b], next.position, 100)).toBe(0);
    } finally {
      await log.close();
      await bus.close();
      await removeNatsStreams(/^EVENTS_LOGTEST/, testNatsUrl());
    }
  });
});
