/**
 * bench/bus — end-to-end throughput and latency of each bus adapter: a message committed to a
 * service's outbox, relayed, delivered, and handled in a consumer's inbox transaction. The
 * producing service (four producers and the relay) runs here; the consuming service runs as its
 * own process (consumer.ts), each with its own database.
 *
 *   npm run bench:bus                # both adapters, both handlers
 *   BENCH_ADAPTERS=postgres BENCH_HANDLERS=inbox npm run bench:bus
 *   BENCH_MESSAGES=40000 BENCH_SECONDS=5 BENCH_CONCURRENCY=200 BENCH_PARTITIONS=32 npm run bench:bus
 *   BENCH_SMOKE=1 npm run bench:bus  # both adapters, inbox+row, a few hundred messages a phase
 *
 * Needs PostgreSQL (MERCATO_TEST_DATABASE_URL) and, for NATS, JetStream (MERCATO_TEST_NATS_URL).
 * Each phase starts a fresh consumer process and runs a few thousand messages through it before
 * measuring. In the same run it measures what the adapters stand on (single-row INSERT … COMMIT
 * txn/s from Node; raw JetStream publish → consume) and prints each result as a ratio to it
 * (BENCH_BASELINE_CLIENTS connections for the insert baseline, default 8). Prints a table and writes bench/results/bus.json (BENCH_DUMP=prefix also writes each
 * message's latency and handling time, for plots).
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createPool,
  inTransaction,
  MESSAGING_MIGRATIONS_TABLE,
  messageStoreMigrations,
  messagingMigrations,
  migrate,
  Outbox,
  OutboxRelay,
  type Pool,
} from '@mercato/chassis';
import {
  createTestDatabase,
  removeNatsStreams,
  testNatsUrl,
  testPostgresUrl,
} from '@mercato/chassis/testing';
import { createEnvelope } from '@mercato/contracts';
import { Registry } from 'prom-client';
import { jetstreamBaseline, postgresInsertBaseline } from '../baselines.ts';
import { Breakage, setting, smoke } from '../smoke-mode.ts';
import {
  type BusSettings,
  benchEvent,
  benchLogger,
  benchMessages,
  connectBus,
  epochMs,
} from './bench-rig.ts';
import type { ConsumerReport, ConsumerSettings } from './consumer.ts';

const logger = benchLogger;
const total = setting('BENCH_MESSAGES', 40_000, 500);
const seconds = setting('BENCH_SECONDS', 5, 1);
const adapters = (process.env.BENCH_ADAPTERS ?? 'postgres,nats').split(',');
/**
 * `inbox`: the handler's transaction records the message in the inbox and commits (what the
 * targets are about); `inbox+row`: the handler also writes a row of its own per message, one more
 * round trip to the database each.
 */
type Handler = 'inbox' | 'inbox+row';
// A smoke run takes the handler that does more (inbox + a row): it goes through every step of the other.
const handlers = (process.env.BENCH_HANDLERS ?? (smoke ? 'inbox+row' : 'inbox,inbox+row')).split(
  ',',
) as Handler[];
const targets: Record<string, number> = { postgres: 5_000, nats: 10_000 };
for (const [variable, given, known] of [
  ['BENCH_ADAPTERS', adapters, Object.keys(targets)],
  ['BENCH_HANDLERS', handlers, ['inbox', 'inbox+row']],
] as const) {
  const unknown = given.filter((value) => !(known as readonly string[]).includes(value));
  if (unknown.length > 0) {
    console.error(
      `bench/bus: ${variable}: unknown ${unknown.join(', ')} (expected some of ${known.join(', ')})`,
    );
    process.exit(2);
  }
}
const KEYS = 1_000;
const BATCH = 100;
const PRODUCERS = 4;
const WARM_UP_MESSAGES = smoke ? 200 : 5_000;
/** A smoke run offers this rate in its latency phase, well under any machine's capacity. */
const SMOKE_RATE = 500;
const broken = new Breakage();

interface Rig {
  busSettings: BusSettings;
  producerPool: Pool;
  producerUrl: string;
  consumerUrl: string;
  storePool: () => Pool;
  cleanup: () => Promise<void>;
}

/** Three databases as three services would have them: the producer's, the consumer's, the bus store. */
async function rig(adapter: string, run: string): Promise<Rig> {
  const producer = await createTestDatabase('bench_producer');
  const consumer = await createTestDatabase('bench_consumer');
  const store = adapter === 'postgres' ? await createTestDatabase('bench_messages') : undefined;
  const producerPool = createPool({ url: producer.url, max: 20, applicationName: 'bench' }, logger);
  await migrate(producerPool, messagingMigrations, logger, MESSAGING_MIGRATIONS_TABLE);
  let storePool: Pool | undefined;
  if (store) {
    storePool = createPool({ url: store.url, max: 20, applicationName: 'bench-bus' }, logger);
    await migrate(storePool, messageStoreMigrations, logger, 'bus_migrations');
  }
  return {
    busSettings: {
      adapter,
      natsUrl: testNatsUrl(),
      partitions: Number(process.env.BENCH_PARTITIONS ?? 32),
      storeUrl: store?.url ?? '',
    },
    producerPool,
    producerUrl: producer.url,
    consumerUrl: consumer.url,
    storePool: () => {
      if (!storePool) throw new Error('the PostgreSQL store is only set up for adapter postgres');
      return storePool;
    },
    cleanup: async () => {
      await producerPool.end();
      await storePool?.end();
      await Promise.all([producer.drop(), consumer.drop(), store?.drop()]);
      if (adapter === 'nats') await removeNatsStreams(new RegExp(`^EVENTS_BENCH${run.toUpperCase()}$`));
    },
  };
}

/** Starts the consuming service as its own process; resolves once it is subscribed. */
async function startConsumer(
  settings: ConsumerSettings,
  onHandled: (handled: Array<[string, number]>) => void,
) {
  const child = fork(fileURLToPath(new URL('./consumer.ts', import.meta.url)), [], {
    // The parent's own flags (`--import tsx`, a profiler's) apply to the consumer too.
    execArgv: process.execArgv,
    env: { ...process.env, BENCH_CONSUMER: JSON.stringify(settings) },
  });
  const exited = once(child, 'exit');
  await new Promise<void>((resolve, reject) => {
    child.on('message', (report: ConsumerReport) => {
      if ('ready' in report) resolve();
      else onHandled(report.handled);
    });
    void exited.then(([code]) => reject(new Error(`the bench consumer exited with ${code}`)));
  });
  return {
    stop: async () => {
      child.disconnect();
      await exited;
    },
  };
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

/** Runs one phase: produce `count` messages at `ratePerSecond` (0 = as fast as possible). */
async function phase(adapter: string, handler: Handler, count: number, ratePerSecond: number) {
  const run = `${Date.now().toString(36)}`;
  const topic = `bench${run}.happened`;
  const { busSettings, producerPool, producerUrl, consumerUrl, storePool, cleanup } = await rig(adapter, run);
  const handledAt = new Map<string, number>();
  const consumer = await startConsumer(
    {
      ...busSettings,
      databaseUrl: consumerUrl,
      group: `bench-${run}`,
      topic,
      concurrency: Number(process.env.BENCH_CONCURRENCY ?? 200),
      effectRow: handler === 'inbox+row',
    },
    (handled) => {
      for (const [id, at] of handled) handledAt.set(id, at);
    },
  );
  const bus = await connectBus(busSettings, storePool);
  const relay = new OutboxRelay({
    pool: producerPool,
    databaseUrl: producerUrl,
    bus,
    logger,
    registry: new Registry(),
    batchSize: 500,
  });
  relay.start();
  const outbox = new Outbox(benchMessages);

  // Producers as a service has them: several requests committing at once, each with its own
  // transaction (BATCH messages each). At a fixed rate they pace themselves against the clock.
  const produce = async (count: number, ratePerSecond: number, committedAt: Map<string, number>) => {
    const began = performance.now();
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
          const wait = began + (sent / ratePerSecond) * 1000 - performance.now();
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        }
        await inTransaction(producerPool, (client) =>
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
        const now = epochMs();
        for (const envelope of envelopes) committedAt.set(envelope.event_id, now);
      }
    };
    await Promise.all(Array.from({ length: PRODUCERS }, producer));
  };
  const handledAll = async (ids: Map<string, number>, within: number) => {
    const deadline = performance.now() + within;
    while (performance.now() < deadline && [...ids.keys()].some((id) => !handledAt.has(id))) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };

  // A few thousand messages first, not measured: the consumer process has just started (JIT, database
  // connections opened on demand, partitions being taken).
  const warmUp = new Map<string, number>();
  await produce(WARM_UP_MESSAGES, ratePerSecond || 5_000, warmUp);
  await handledAll(warmUp, 30_000);
  handledAt.clear();

  const committedAt = new Map<string, number>();
  const began = performance.now();
  await produce(count, ratePerSecond, committedAt);
  const produced = performance.now();
  if (process.env.BENCH_DEBUG) {
    void (async () => {
      for (;;) {
        const { rows } = await producerPool.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM mercato_outbox',
        );
        if (rows[0]?.n === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      console.error(
        `${adapter}: produced in ${(produced - began).toFixed(0)} ms, relayed by ${(performance.now() - began).toFixed(0)} ms, handled ${handledAt.size}`,
      );
    })();
  }
  const deadline = performance.now() + (smoke ? 30_000 : 120_000);
  while (handledAt.size < count && performance.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 10));
  const elapsed = (performance.now() - began) / 1000;
  await relay.stop();
  await consumer.stop();
  await bus.close();
  await cleanup();
  const latencies = [...handledAt].flatMap(([id, at]) => {
    const committed = committedAt.get(id);
    return committed === undefined ? [] : [at - committed];
  });
  if (process.env.BENCH_DUMP) {
    const rows = [...handledAt].map(
      ([id, at]) =>
        `${(at - (committedAt.get(id) ?? at)).toFixed(1)} ${(at - began - performance.timeOrigin).toFixed(0)}`,
    );
    await writeFile(`${process.env.BENCH_DUMP}-${adapter}-${handler}-${ratePerSecond}.txt`, rows.join('\n'));
  }
  latencies.sort((a, b) => a - b);
  return {
    handled: handledAt.size,
    elapsed_s: Number(elapsed.toFixed(2)),
    throughput_per_s: Math.round(handledAt.size / elapsed),
    p50_ms: Number(percentile(latencies, 50).toFixed(1)),
    p99_ms: Number(percentile(latencies, 99).toFixed(1)),
  };
}

// The physical baselines of this run: what PostgreSQL and JetStream do with nothing of ours on top.
const baselineClients = Number(process.env.BENCH_BASELINE_CLIENTS ?? 8);
const baselines = {
  postgres_insert_commit_per_s: await postgresInsertBaseline({
    url: testPostgresUrl(),
    clients: baselineClients,
    seconds: smoke ? 1 : 5,
  }),
  jetstream_publish_consume_per_s: adapters.includes('nats')
    ? await jetstreamBaseline({ url: testNatsUrl(), messages: smoke ? 2_000 : 40_000 })
    : undefined,
};
const baselineOf = (adapter: string) =>
  adapter === 'nats'
    ? (baselines.jetstream_publish_consume_per_s ?? 0)
    : baselines.postgres_insert_commit_per_s;
const ratio = (value: number, base: number) => (base > 0 ? Math.round((value / base) * 100) / 100 : 0);

const results = [];
for (const adapter of adapters) {
  for (const handler of handlers) {
    const throughput = await phase(adapter, handler, total, 0);
    const offered = smoke ? SMOKE_RATE : Math.round((targets[adapter] ?? 5_000) / 2);
    const latency = await phase(adapter, handler, offered * seconds, offered);
    broken.expect(
      throughput.handled === total && latency.handled === offered * seconds,
      `${adapter}, ${handler}: handled ${throughput.handled}/${total} and ${latency.handled}/${offered * seconds}`,
    );
    results.push({
      adapter,
      handler,
      messages: total,
      throughput,
      baseline_per_s: baselineOf(adapter),
      throughput_to_baseline: ratio(throughput.throughput_per_s, baselineOf(adapter)),
      latency_at: offered,
      latency,
      target_per_s: targets[adapter],
    });
  }
}

const table = [
  [
    'adapter',
    'handler',
    'throughput/s',
    'baseline/s',
    'x baseline',
    'target/s',
    'offered/s',
    'p50 ms',
    'p99 ms',
    'handled',
  ],
  ...results.map((row) => [
    row.adapter,
    row.handler,
    String(row.throughput.throughput_per_s),
    String(row.baseline_per_s),
    String(row.throughput_to_baseline),
    String(row.target_per_s),
    String(row.latency_at),
    String(row.latency.p50_ms),
    String(row.latency.p99_ms),
    `${row.throughput.handled}/${row.messages}`,
  ]),
];
const widths = table[0]?.map((_, column) => Math.max(...table.map((row) => row[column]?.length ?? 0))) ?? [];
for (const row of table) console.log(row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  '));
console.log(
  `\nbaselines, same run: PostgreSQL single-row INSERT … COMMIT ${baselines.postgres_insert_commit_per_s}/s (${baselineClients} clients)${baselines.jetstream_publish_consume_per_s === undefined ? '' : `; raw JetStream publish → consume ${baselines.jetstream_publish_consume_per_s}/s`}`,
);

const output = path.join(fileURLToPath(new URL('../results', import.meta.url)), 'bus.json');
await mkdir(path.dirname(output), { recursive: true });
const database = new URL(testPostgresUrl());
await writeFile(
  output,
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      smoke,
      cpus: availableParallelism(),
      // A Unix socket (`?host=/var/run/postgresql`) or TCP: it moves the numbers by a fifth.
      database: database.searchParams.get('host') ?? database.host,
      baselines: { ...baselines, postgres_clients: baselineClients },
      results,
    },
    null,
    2,
  )}\n`,
);
console.log(`\nwrote ${path.relative(process.cwd(), output)}`);
broken.exitIfBroken('bus');
process.exit(0);
