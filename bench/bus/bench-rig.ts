import { createLogger, type MessageBus, type Pool, PostgresMessageBus } from '@mercato/chassis';
import { NatsMessageBus } from '@mercato/chassis/nats';
import { defineEvent, MessageRegistry } from '@mercato/contracts';
import * as z from 'zod';

/** What the producing side and the consuming process of bench/bus share. */
export const benchEvent = defineEvent({
  type: 'bench.happened',
  version: '1.0',
  schema: z.object({ seq: z.number().int() }),
});
export const benchMessages = new MessageRegistry([benchEvent]);
export const benchLogger = createLogger({ service: 'bench-bus', level: 'error' });

export interface BusSettings {
  adapter: string;
  natsUrl: string;
  partitions: number;
  /** The PostgreSQL store's database (adapter `postgres`). */
  storeUrl: string;
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable across the bench's processes. */
export const epochMs = (): number => performance.timeOrigin + performance.now();

export async function connectBus(settings: BusSettings, storePool: () => Pool): Promise<MessageBus> {
  if (settings.adapter === 'nats') {
    return NatsMessageBus.connect({
      url: settings.natsUrl,
      logger: benchLogger,
      partitions: settings.partitions,
    });
  }
  return new PostgresMessageBus({
    pool: storePool(),
    listenUrl: settings.storeUrl,
    logger: benchLogger,
    batchSize: 200,
    pollIntervalMs: 50,
  });
}
