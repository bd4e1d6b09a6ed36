/**
 * The consumer of bench/cdc, as a process of its own (a service reading the capture's events would
 * be one): subscribes through the chassis bus API (`MessageBus.subscribe`, a consumer group of its
 * own) to the customers' changes, and reports to the parent over IPC, every 20 ms, when each
 * streamed change reached its handler. Settings arrive as JSON in BENCH_CDC_CONSUMER.
 */
import { createLogger, createPool, PostgresMessageBus } from '@mercato/chassis';
import { legacyCustomerChanged } from '@mercato/contracts';

export interface ConsumerSettings {
  messagesUrl: string;
  group: string;
}

/** [source transaction id (32 bits), arrival wall-clock ms, the envelope's committed_at ms]. */
export type ArrivalRow = [number, number, number];

/** `started`: connected, waiting to be told to subscribe; `ready`: subscribed. */
export type ConsumerReport =
  | { started: true }
  | { ready: true }
  | { arrivals: ArrivalRow[]; snapshotRows: number };

interface ChangeEnvelope {
  data?: { source?: { kind?: string; tx_id?: number; committed_at?: string } };
}

const settings = JSON.parse(process.env.BENCH_CDC_CONSUMER ?? '{}') as ConsumerSettings;
const send = (report: ConsumerReport) => process.send?.(report);
const logger = createLogger({ service: 'bench-cdc-consumer', level: 'error' });
const pool = createPool({ url: settings.messagesUrl, max: 4, applicationName: 'bench-subscriber' }, logger);
const bus = new PostgresMessageBus({ pool, listenUrl: settings.messagesUrl, logger });

let arrivals: ArrivalRow[] = [];
let snapshotRows = 0;
const flush = setInterval(() => {
  if (arrivals.length === 0 && snapshotRows === 0) return;
  send({ arrivals, snapshotRows });
  arrivals = [];
  snapshotRows = 0;
}, 20);
// Started beside the capture (its process's start overlaps the capture's), subscribed once told:
// after the snapshot, which then reaches it as the topic's history.
send({ started: true });
await new Promise((resolve) => process.once('message', resolve));
const subscription = await bus.subscribe({
  group: settings.group,
  kind: 'topic',
  destinations: [legacyCustomerChanged.type],
  concurrency: 64,
  onDelivery: async (delivery) => {
    const at = performance.timeOrigin + performance.now();
    const source = (delivery.envelope as ChangeEnvelope).data?.source;
    if (source?.kind === 'snapshot') snapshotRows += 1;
    else if (source?.tx_id !== undefined)
      arrivals.push([source.tx_id, at, Date.parse(source.committed_at ?? '')]);
    await delivery.ack();
  },
});
send({ ready: true });
process.on('disconnect', async () => {
  clearInterval(flush);
  await subscription.stop();
  await bus.close();
  await pool.end();
  process.exit(0);
});
