/**
 * The consuming service of bench/bus, as its own process (as it would be deployed): it handles the
 * bench's events in its own database (inbox + one effect row each) and reports to the parent,
 * over IPC, when each message's handler transaction has committed and the delivery is acked.
 * Settings arrive as one JSON object in BENCH_CONSUMER.
 */
import {
  createPool,
  DeadLetterStore,
  MESSAGING_MIGRATIONS_TABLE,
  MessageConsumer,
  messagingMigrations,
  migrate,
} from '@mercato/chassis';
import { Registry } from 'prom-client';
import { type BusSettings, benchLogger, benchMessages, connectBus, epochMs } from './bench-rig.ts';

export interface ConsumerSettings extends BusSettings {
  databaseUrl: string;
  group: string;
  topic: string;
  concurrency: number;
  /** Whether the handler writes a row of its own per message (else only the inbox records it). */
  effectRow: boolean;
}

export type ConsumerReport = { ready: true } | { handled: Array<[string, number]> };

const settings = JSON.parse(process.env.BENCH_CONSUMER ?? '{}') as ConsumerSettings;
const send = (report: ConsumerReport) => process.send?.(report);
const pool = createPool(
  { url: settings.databaseUrl, max: 40, applicationName: 'bench-consumer' },
  benchLogger,
);
await migrate(pool, messagingMigrations, benchLogger, MESSAGING_MIGRATIONS_TABLE);
await pool.query('CREATE TABLE IF NOT EXISTS effects (message_id text PRIMARY KEY, seq int NOT NULL)');
const storePool = createPool(
  { url: settings.storeUrl, max: 20, applicationName: 'bench-consumer-bus' },
  benchLogger,
);
const bus = await connectBus(settings, () => storePool);

let handled: Array<[string, number]> = [];
const flush = setInterval(() => {
  if (handled.length === 0) return;
  send({ handled });
  handled = [];
}, 20);
// Latency is taken when the handler's transaction has committed and the delivery is acked.
const subscribe = bus.subscribe.bind(bus);
bus.subscribe = (options) =>
  subscribe({
    ...options,
    onDelivery: async (delivery) => {
      await options.onDelivery(delivery);
      handled.push([delivery.messageId, epochMs()]);
    },
  });
const consumer = new MessageConsumer(
  {
    group: settings.group,
    kind: 'topic',
    destinations: [settings.topic],
    concurrency: settings.concurrency,
    handler: async (message, transaction) => {
      if (!settings.effectRow) return;
      await transaction.query('INSERT INTO effects (message_id, seq) VALUES ($1, $2)', [
        message.event_id,
        message.data.seq,
      ]);
    },
  },
  {
    pool,
    bus,
    messages: benchMessages,
    deadLetters: new DeadLetterStore(pool),
    logger: benchLogger,
    registry: new Registry(),
  },
);
await consumer.start();
send({ ready: true });
process.on('disconnect', async () => {
  clearInterval(flush);
  await consumer.stop();
  await bus.close();
  await Promise.all([pool.end(), storePool.end()]);
  process.exit(0);
});
