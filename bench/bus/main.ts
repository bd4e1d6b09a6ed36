/**
 * bench/bus — end-to-end throughput and latency of each bus adapter: a message committed to a
 * service's outbox, relayed, delivered, and handled in a consumer's inbox transaction.
 *
 *   npm run bench:bus                # both adapters
 *   BENCH_ADAPTERS=postgres npm run bench:bus
 *   BENCH_MESSAGES=20000 BENCH_SECONDS=5 BENCH_CONCURRENCY=200 BENCH_PARTITIONS=32 npm run bench:bus
 *
 * Needs PostgreSQL (MERCATO_TEST_DATABASE_URL) and, for NATS, JetStream (MERCATO_TEST_NATS_URL).
 * Prints a table and writes bench/results/bus.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createLogger,
  createPool,
  DeadLetterStore,
  inTransaction,
  MESSAGING_MIGRATIONS_TABLE,
  type MessageBus,
  MessageConsumer,
  messageStoreMigrations,
  messagingMigrations,
  migrate,
  Outbox,
  OutboxRelay,
  PostgresMessageBus,
} from '@mercato/chassis';
import { NatsMessageBus } from '@mercato/chassis/nats';
import { createTestDatabase, removeNatsStreams, testNatsUrl } from '@mercato/chassis/testing';
import { createEnvelope, defineEvent, MessageRegistry } from '@mercato/contracts';
import { Registry } from 'prom-client';
import { z } from 'zod';

const benchEvent = defineEvent({
  type: 'bench.happened',
  version: '1.0',
  schema: z.object({ seq: z.number().int() }),
});
const messages = new MessageRegistry([benchEvent]);
const logger = createLogger({ service: 'bench-bus', level: 'error' });
const total = Number(process.env.BENCH_MESSAGES ?? 20_000);
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const adapters = (process.env.BENCH_ADAPTERS ?? 'postgres,nats').split(',');
const targets: Record<string, number> = { postgres: 5_000, nats: 10_000 };
const KEYS = 1_000;
const BATCH = 100;
const PRODUCERS = 4;

interface Rig {
  bus: MessageBus;
  servicePool: ReturnType<typeof createPool>;
  serviceUrl: string;
  cleanup: () => Promise<void>;
}

async function rig(adapter: string, run: string): Promise<Rig> {
  const service = await createTestDatabase('bench_service');
  const servicePool = createPool({ url: service.url, max: 40, applicationName: 'bench' }, logger);
  await migrate(servicePool, messagingMigrations, logger, MESSAGING_MIGRATIONS_TABLE);
  await servicePool.query('CREATE TABLE effects (message_id text PRIMARY KEY, seq int NOT NULL)');
  if (adapter === 'nats') {
    const bus = await NatsMessageBus.connect({
      url: testNatsUrl(),
      logger,
      partitions: Number(process.env.BENCH_PARTITIONS ?? 32),
    });
    return {
      bus,
      servicePool,
      serviceUrl: service.url,
      cleanup: async () => {
        await bus.close();
        await servicePool.end();
        await service.drop();
        await removeNatsStreams(new RegExp(`^EVENTS_BENCH${run.toUpperCase()}$`));
      },
    };
  }
  const store = await createTestDatabase('bench_messages');
  const busPool = createPool({ url: store.url, max: 20, applicationName: 'bench-bus' }, logger);
  await migrate(busPool, messageStoreMigrations, logger, 'bus_migrations');
  const bus = new PostgresMessageBus({
    pool: busPool,
    listenUrl: store.url,
    logger,
    batchSize: 200,
    pollIntervalMs: 50,
  });
  return {
    bus,
    servicePool,
    serviceUrl: service.url,
    cleanup: async () => {
      await bus.close();
      await busPool.end();
      await servicePool.end();
      await service.drop();
      await store.drop();
    },
  };
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

/** Runs one phase: produce `count` messages at `ratePerSecond` (0 = as fast as possible). */
async function phase(adapter: string, count: number, ratePerSecond: number) {
  const run = `${Date.now().toString(36)}`;
  const topic = `bench${run}.happened`;
  const { bus, servicePool, serviceUrl, cleanup } = await rig(adapter, run);
  const committedAt = new Map<string, number>();
  const latencies: number[] = [];
  let handled = 0;
  const registry = new Registry();
  const consumer = new MessageConsumer(
    {
      group: `bench-${run}`,
      kind: 'topic',
      destinations: [topic],
      concurrency: Number(process.env.BENCH_CONCURRENCY ?? 200),
      handler: async (message, transaction) => {
        await transaction.query('INSERT INTO effects (message_id, seq) VALUES ($1, $2)', [
          message.event_id,
          message.data.seq,
        ]);
      },
    },
    { pool: servicePool, bus, messages, deadLetters: new DeadLetterStore(servicePool), logger, registry },
  );
  // Latency is taken when the handler's transaction has committed and the delivery is acked.
  const original = bus.subscribe.bind(bus);
  bus.subscribe = (options) =>
    original({
      ...options,
      onDelivery: async (delivery) => {
        await options.onDelivery(delivery);
        const started = committedAt.get(delivery.messageId);
        if (started !== undefined) {
          latencies.push(performance.now() - started);
          committedAt.delete(delivery.messageId);
          handled += 1;
        }
      },
    });
  await consumer.start();
  const relay = new OutboxRelay({
    pool: servicePool,
    databaseUrl: serviceUrl,
    bus,
    logger,
    registry,
    batchSize: 500,
  });
  relay.start();
  const outbox = new Outbox(messages);

  const began = performance.now();
  // Producers as a service has them: several requests committing at once, each with its own
  // transaction (BATCH messages each). At a fixed rate they pace themselves against the clock.
  let next = 0;
  const producer = async () => {
    for (let sent = next; sent < count; sent = next) {
      next += BATCH;
      const envelopes = Array.from({ length: Math.min(BATCH, count - sent) }, (_, index) =>
        createEnvelope({
          contract: benchEvent,
          data: { seq: sent + index },
          source: 'bench',
          correlationId: run,
        }),
      );
      if (ratePerSecond > 0) {
        const due = began + (sent / ratePerSecond) * 1000;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
      await inTransaction(servicePool, (client) =>
        outbox.append(
          client,
          envelopes.map((envelope) => ({
            kind: 'topic',
            destination: topic,
            key: `k${Number(envelope.data.seq) % KEYS}`,
            envelope,
          })),
        ),
      );
      const now = performance.now();
      for (const envelope of envelopes) committedAt.set(envelope.event_id, now);
    }
  };
  await Promise.all(Array.from({ length: PRODUCERS }, producer));
  const produced = performance.now();
  if (process.env.BENCH_DEBUG) {
    void (async () => {
      for (;;) {
        const { rows } = await servicePool.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM mercato_outbox',
        );
        if (rows[0]?.n === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      console.error(
        `${adapter}: produced in ${(produced - began).toFixed(0)} ms, relayed by ${(performance.now() - began).toFixed(0)} ms, handled ${handled}`,
      );
    })();
  }
  const deadline = performance.now() + 120_000;
  while (handled < count && performance.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 20));
  const elapsed = (performance.now() - began) / 1000;
  await relay.stop();
  await consumer.stop();
  await cleanup();
  latencies.sort((a, b) => a - b);
  return {
    handled,
    elapsed_s: Number(elapsed.toFixed(2)),
    throughput_per_s: Math.round(handled / elapsed),
    p50_ms: Number(percentile(latencies, 50).toFixed(1)),
    p99_ms: Number(percentile(latencies, 99).toFixed(1)),
  };
}

const results = [];
for (const adapter of adapters) {
  const throughput = await phase(adapter, total, 0);
  const offered = Math.round((targets[adapter] ?? 5_000) / 2);
  const latency = await phase(adapter, offered * seconds, offered);
  results.push({
    adapter,
    messages: total,
    throughput,
    latency_at: offered,
    latency,
    target_per_s: targets[adapter],
  });
}

const table = [
  ['adapter', 'throughput/s', 'target/s', 'offered/s', 'p50 ms', 'p99 ms', 'handled'],
  ...results.map((row) => [
    row.adapter,
    String(row.throughput.throughput_per_s),
    String(row.target_per_s),
    String(row.latency_at),
    String(row.latency.p50_ms),
    String(row.latency.p99_ms),
    `${row.throughput.handled}/${row.messages}`,
  ]),
];
const widths = table[0]?.map((_, column) => Math.max(...table.map((row) => row[column]?.length ?? 0))) ?? [];
for (const row of table) console.log(row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  '));

const output = path.join(fileURLToPath(new URL('../results', import.meta.url)), 'bus.json');
await mkdir(path.dirname(output), { recursive: true });
await writeFile(output, `${JSON.stringify({ date: new Date().toISOString(), cpus: 2, results }, null, 2)}\n`);
console.log(`\nwrote ${path.relative(process.cwd(), output)}`);
process.exit(0);
