import { createEnvelope, defineEvent, type Envelope } from '@mercato/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { createPool, inTransaction, type Pool } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { createLogger } from '../src/logging/create-logger.ts';
import { messageStoreMigrations } from '../src/messaging/migrations-path.ts';
import { PostgresMessageBus } from '../src/messaging/postgres-bus/postgres-message-bus.ts';
import {
  createAppliedEvents,
  firstApplications,
  PLAIN_INSERT_FROM,
} from '../src/projections/applied-events.ts';
import type { EventLog } from '../src/projections/event-log.port.ts';
import { PostgresEventLog } from '../src/projections/postgres-event-log.ts';
import type { ReadModel, ReadModelEvent } from '../src/projections/read-model.ts';
import { readModelMigrations } from '../src/projections/read-model-parts.ts';
import { ReadModelRunner } from '../src/projections/read-model-runner.ts';
import {
  createTestDatabase,
  probeNats,
  probePostgres,
  removeNatsStreams,
  suiteTitle,
  testNatsUrl,
} from '../src/testing/infra.ts';
import { waitFor } from '../src/testing/wait-for.ts';

const postgres = await probePostgres();
const nats = await probeNats();
const logger = createLogger({ service: 'dedupe-test', level: 'silent' });
const suffix = Date.now().toString(36);
/** A context of its own per run, so its JetStream stream is this file's alone. */
const sold = defineEvent({
  type: `dedupe${suffix}.sold`,
  version: '1.0',
  schema: z.object({ sku: z.string(), quantity: z.number().int() }),
});

/** Counts what was sold per SKU by adding, as analytics' counters do: not idempotent by itself. */
const tallies: ReadModel = {
  name: 'tallies',
  topics: [sold.type],
  contracts: [sold],
  tables: ['sold'],
  async createTables(transaction, schema) {
    await transaction.query(`CREATE TABLE ${schema}.sold (sku text PRIMARY KEY, quantity integer NOT NULL)`);
  },
  async apply(transaction, schema, events) {
    for (const { envelope } of events) {
      const data = envelope.data as { sku: string; quantity: number };
      await transaction.query(
        `INSERT INTO ${schema}.sold VALUES ($1, $2)
         ON CONFLICT (sku) DO UPDATE SET quantity = ${schema}.sold.quantity + EXCLUDED.quantity`,
        [data.sku, data.quantity],
      );
    }
  },
};

const sale = (sku: string, quantity: number) =>
  createEnvelope({ contract: sold, source: 'test', correlationId: 'c', data: { sku, quantity } });

interface BusUnderTest {
  log: EventLog;
  publish: (envelope: Envelope) => Promise<void>;
  /** Publishes an envelope the bus already has, so that the log holds it twice. */
  republish: (envelope: Envelope) => Promise<void>;
  close: () => Promise<void>;
}

/**
 * A read model counts every event once, on both buses, even when the log holds it twice: a relay
 * that died between publishing and deleting republishes what it had, after JetStream's duplicate
 * window (120 s) as easily as within it.
 */
describe.each([
  { name: 'PostgreSQL message store', available: postgres },
  { name: 'NATS JetStream', available: postgres.available ? nats : postgres },
])('a read model over the $name', ({ name, available }) => {
  describe.skipIf(!available.available)(suiteTitle('counts each event once', available), () => {
    let pool: Pool;
    const cleanups: Array<() => Promise<void>> = [];
    let bus: BusUnderTest;

    beforeAll(async () => {
      const database = await createTestDatabase('dedupe_model');
      cleanups.push(database.drop);
      pool = createPool({ url: database.url, max: 4, applicationName: 'dedupe-test' }, logger);
      cleanups.unshift(() => pool.end());
      await migrate(pool, readModelMigrations, logger, 'read_model_migrations');
      bus = name === 'NATS JetStream' ? await natsBus() : await postgresBus();
      cleanups.unshift(bus.close);
    });
    afterAll(async () => {
      for (const cleanup of cleanups) await cleanup();
    });

    it('counts a republished event once, in the live copy and in a rebuilt one', async () => {
      const runner = new ReadModelRunner({ pool, log: bus.log, model: tallies, logger, pollMs: 20 });
      let duplicates = 0;
      runner.onApplied = (_applied, _rejected, skipped) => {
        duplicates += skipped;
      };
      await runner.start();
      try {
        const first = sale('BOOK', 2);
        await bus.publish(first);
        await bus.publish(sale('PEN', 1));
        await bus.republish(first);
        await bus.publish(sale('BOOK', 3));
        // The log holds the first sale twice.
        const logged = await bus.log.read(tallies.topics, null, { limit: 100 });
        expect(logged.events.map((event) => (event.envelope as Envelope).event_id)).toEqual([
          first.event_id,
          expect.any(String),
          first.event_id,
          expect.any(String),
        ]);
        const quantities = async (schema?: string) =>
          Object.fromEntries(
            (
              await pool.query<{ sku: string; quantity: number }>(
                `SELECT sku, quantity FROM ${schema ?? (await runner.live()).schema}.sold ORDER BY sku`,
              )
            ).rows.map((row) => [row.sku, row.quantity]),
          );
        const head = await bus.log.head(tallies.topics);
        await waitFor(
          'the live copy caught up',
          async () => bus.log.reached((await runner.live()).position, head),
          10_000,
          20,
        );
        expect(await quantities()).toEqual({ BOOK: 5, PEN: 1 });
        expect(duplicates).toBe(1);

        // A rebuild reads the same log from its start, all four in one batch (the copy beside the
        // first): the copy it switches to counts once too.
        await runner.rebuild();
        await waitFor(
          'the rebuilt copy live',
          async () => (await runner.generations()).some((g) => g.generation === 2 && g.status === 'live'),
          10_000,
          20,
        );
        const rebuilt = (await runner.generations()).find((g) => g.generation === 2);
        expect(rebuilt?.differences).toBe(0);
        expect(await quantities()).toEqual({ BOOK: 5, PEN: 1 });
      } finally {
        await runner.stop();
      }
    });
  });
});

describe.skipIf(!postgres.available)(suiteTitle('a busy read model', postgres), () => {
  it('lists its generations once a second, not once a batch', async () => {
    const database = await createTestDatabase('busy_model');
    const pool = createPool({ url: database.url, max: 4, applicationName: 'busy-model-test' }, logger);
    const bus = await postgresBus();
    // Every statement the runner's pool runs, by what it is.
    const statements: string[] = [];
    const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
    (pool as unknown as { query: (...args: unknown[]) => Promise<unknown> }).query = (...args) => {
      const text = typeof args[0] === 'string' ? args[0] : '';
      if (text.includes("status <> 'dropped'")) statements.push('list');
      return query(...args);
    };
    pool.on('connect', (client) => {
      const clientQuery = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args) => {
        const text = typeof args[0] === 'string' ? args[0] : '';
        if (text.includes('FOR UPDATE')) statements.push('lock');
        return clientQuery(...args);
      };
    });
    await migrate(pool, readModelMigrations, logger, 'read_model_migrations');
    const runner = new ReadModelRunner({ pool, log: bus.log, model: tallies, logger, pollMs: 20 });
    await runner.start();
    try {
      statements.length = 0;
      // About a second and a half of sales, one every 50 ms: a batch each.
      for (let sold = 0; sold < 30; sold += 1) {
        await bus.publish(sale(`SKU-${sold}`, 1));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const head = await bus.log.head(tallies.topics);
      await waitFor(
        'caught up',
        async () => bus.log.reached((await runner.live()).position, head),
        10_000,
        20,
      );
      const count = (what: string) => statements.filter((statement) => statement === what).length;
      expect(count('lock')).toBeGreaterThanOrEqual(10);
      expect(count('list')).toBeLessThanOrEqual(4);
      const rows = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${(await runner.live()).schema}.sold`,
      );
      expect(rows.rows[0]?.n).toBe(30);
    } finally {
      await runner.stop();
      await bus.close();
      await pool.end();
      await database.drop();
    }
  });
});

describe.skipIf(!postgres.available)(suiteTitle('the ids a generation applied', postgres), () => {
  it('records a small batch in one statement, a large one under a savepoint', async () => {
    const database = await createTestDatabase('dedupe_statements');
    const pool = createPool({ url: database.url, max: 1, applicationName: 'dedupe-test' }, logger);
    try {
      await pool.query('CREATE SCHEMA applied');
      await inTransaction(pool, (transaction) => createAppliedEvents(transaction, 'applied'));
      const statements = (count: number, from: number) =>
        inTransaction(pool, async (transaction) => {
          const sent: string[] = [];
          const counted = new Proxy(transaction, {
            get: (target, property, receiver) =>
              property === 'query'
                ? (text: string, values?: unknown[]) => {
                    sent.push(text.trim().split(/\s+/)[0] ?? '');
                    return target.query(text, values);
                  }
                : Reflect.get(target, property, receiver),
          });
          const events: ReadModelEvent[] = Array.from({ length: count }, (_, index) => ({
            position: String(index),
            envelope: { ...sale('s', 1), event_id: `evt_${from + index}` },
          }));
          expect(await firstApplications(counted, 'applied', events)).toHaveLength(count);
          return sent;
        });
      expect(await statements(3, 0)).toEqual(['WITH']);
      expect(await statements(PLAIN_INSERT_FROM, 100)).toEqual(['SAVEPOINT', 'INSERT', 'RELEASE']);
    } finally {
      await pool.end();
      await database.drop();
    }
  });

  it('passes each event id once: copies of earlier batches and copies within a batch are skipped', async () => {
    const database = await createTestDatabase('dedupe_ids');
    const pool = createPool({ url: database.url, max: 1, applicationName: 'dedupe-test' }, logger);
    try {
      await pool.query('CREATE SCHEMA applied');
      const batch = (...names: string[]) =>
        inTransaction(pool, async (transaction) => {
          await createAppliedEvents(transaction, 'applied');
          const events: ReadModelEvent[] = names.map((name, index) => ({
            position: String(index),
            envelope: { ...sale(name, 1), event_id: `evt_${name}` },
          }));
          return (await firstApplications(transaction, 'applied', events)).map((event) => event.position);
        });
      expect(await batch('a', 'b')).toEqual(['0', '1']);
      // Seen before (the plain insert fails on its key and the batch is recorded again, carefully).
      expect(await batch('d', 'a', 'e')).toEqual(['0', '2']);
      // Twice within the batch, and once more with one seen before: the first copy only.
      expect(await batch('c', 'b', 'c', 'f')).toEqual(['0', '3']);
      expect(await batch('g')).toEqual(['0']);
      // A large batch: the plain insert first, and with a copy of an earlier batch in it, again
      // carefully; a batch of every id new is recorded whole.
      const many = (from: number) => Array.from({ length: PLAIN_INSERT_FROM }, (_, i) => `m${from + i}`);
      expect(await batch(...many(0))).toHaveLength(PLAIN_INSERT_FROM);
      const withCopy = [...many(PLAIN_INSERT_FROM).slice(1), 'a'];
      expect(await batch(...withCopy)).toEqual(withCopy.slice(0, -1).map((_, index) => String(index)));
    } finally {
      await pool.end();
      await database.drop();
    }
  });
});

async function postgresBus(): Promise<BusUnderTest> {
  const database = await createTestDatabase('dedupe_messages');
  const pool = createPool({ url: database.url, max: 4, applicationName: 'dedupe-test' }, logger);
  await migrate(pool, messageStoreMigrations, logger, 'bus_migrations');
  const bus = new PostgresMessageBus({ pool, listenUrl: database.url, logger });
  return {
    log: new PostgresEventLog(pool),
    publish: (envelope) => bus.publish([{ kind: 'topic', destination: sold.type, key: 'k', envelope }]),
    // The store stores a message id once: the same envelope again can only come under another id.
    republish: async (envelope) => {
      await pool.query(
        `INSERT INTO bus_messages (kind, destination, partition_key, message_id, envelope)
         VALUES ('topic', $1, 'k', $2, $3)`,
        [sold.type, `${envelope.event_id}-again`, JSON.stringify(envelope)],
      );
    },
    close: async () => {
      await bus.close();
      await pool.end();
      await database.drop();
    },
  };
}

async function natsBus(): Promise<BusUnderTest> {
  const { NatsMessageBus } = await import('../src/messaging/nats-bus/nats-message-bus.ts');
  const { NatsEventLog } = await import('../src/projections/nats-event-log.ts');
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const { connect } = await import('@nats-io/transport-node');
  const { nanos } = await import('@nats-io/nats-core');
  const stream = `EVENTS_DEDUPE${suffix.toUpperCase()}`;
  const windowMs = 300;
  // The context's stream made before the bus makes it, with a duplicate window of 300 ms instead
  // of 120 s, so that a republish past the window takes a test a moment rather than two minutes.
  const admin = await connect({ servers: testNatsUrl() });
  await (await jetstreamManager(admin)).streams.add({
    name: stream,
    subjects: [`mercato.events.dedupe${suffix}.>`],
    duplicate_window: nanos(windowMs),
  });
  await admin.close();
  const bus = await NatsMessageBus.connect({ url: testNatsUrl(), logger });
  const publish = (envelope: Envelope) =>
    bus.publish([{ kind: 'topic', destination: sold.type, key: 'k', envelope }]);
  const log = await NatsEventLog.connect(testNatsUrl());
  return {
    log,
    publish,
    // The same event id (Nats-Msg-Id) again, once the window has passed: JetStream stores it again.
    republish: async (envelope) => {
      await new Promise((resolve) => setTimeout(resolve, windowMs + 200));
      await publish(envelope);
    },
    close: async () => {
      await log.close();
      await bus.close();
      await removeNatsStreams(new RegExp(`^${stream}$`));
    },
  };
}
