import { createEnvelope, MessageRegistry } from '@mercato/contracts';
import { context, propagation, SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Pool } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { createLogger } from '../src/logging/create-logger.ts';
import { DeadLetterStore } from '../src/messaging/dead-letter-store.ts';
import { testEvent } from '../src/messaging/message-bus.contract.ts';
import { MessageConsumer } from '../src/messaging/message-consumer.ts';
import {
  MESSAGING_MIGRATIONS_TABLE,
  messageStoreMigrations,
  messagingMigrations,
} from '../src/messaging/migrations-path.ts';
import { PostgresMessageBus } from '../src/messaging/postgres-bus/postgres-message-bus.ts';
import { createTestDatabase, probePostgres, suiteTitle } from '../src/testing/infra.ts';
import { waitFor } from '../src/testing/wait-for.ts';

const postgres = await probePostgres();
const logger = createLogger({ service: 'span-test', level: 'silent' });

describe.skipIf(!postgres.available)(suiteTitle('consumer spans', postgres), () => {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const cleanups: Array<() => Promise<unknown>> = [];
  let servicePool: Pool;
  let bus: PostgresMessageBus;

  beforeAll(async () => {
    provider.register();
    const busDb = await createTestDatabase('span_messages');
    const serviceDb = await createTestDatabase('span_consumer');
    const busPool = createPool({ url: busDb.url, max: 4, applicationName: 'bus' }, logger);
    servicePool = createPool({ url: serviceDb.url, max: 4, applicationName: 'service' }, logger);
    cleanups.push(
      busDb.drop,
      serviceDb.drop,
      () => busPool.end(),
      () => servicePool.end(),
    );
    await migrate(busPool, messageStoreMigrations, logger, 'bus_migrations');
    await migrate(servicePool, messagingMigrations, logger, MESSAGING_MIGRATIONS_TABLE);
    bus = new PostgresMessageBus({ pool: busPool, listenUrl: busDb.url, logger, pollIntervalMs: 50 });
    cleanups.unshift(() => bus.close());
  });
  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup();
    await provider.shutdown();
    // The provider registered itself process-wide; leave the process as it was.
    trace.disable();
    context.disable();
    propagation.disable();
  });

  it('marks a retried or dead-lettered delivery as an error, and only a handled one as OK', async () => {
    const seen = new Map<number, number>();
    const consumer = new MessageConsumer(
      {
        group: 'spans',
        kind: 'topic',
        destinations: ['spans.happened'],
        maxAttempts: 2,
        backoff: { baseMs: 10, maxMs: 20 },
        // seq 2 always fails: retried once, then dead-lettered; 1 and 3 are handled.
        handler: async (message) => {
          const seq = Number(message.data.seq);
          seen.set(seq, (seen.get(seq) ?? 0) + 1);
          if (seq === 2) throw new Error(`refused ${seq}`);
        },
      },
      {
        pool: servicePool,
        bus,
        messages: new MessageRegistry([testEvent]),
        deadLetters: new DeadLetterStore(servicePool),
        logger,
        registry: new Registry(),
      },
    );
    await consumer.start();
    cleanups.unshift(() => consumer.stop());
    await bus.publish(
      [1, 2, 3].map((seq) => ({
        kind: 'topic' as const,
        destination: 'spans.happened',
        key: `k${seq}`,
        envelope: createEnvelope({
          contract: testEvent,
          data: { key: `k${seq}`, seq },
          source: 'test',
          correlationId: 'c',
        }),
      })),
    );
    // The chassis pool's query spans are in the exporter too: only the deliveries' spans count here.
    const deliveries = () =>
      exporter.getFinishedSpans().filter((span) => span.attributes['mercato.delivery.outcome'] !== undefined);
    await waitFor('four deliveries traced', () => deliveries().length >= 4, 10_000);
    const outcomes = deliveries()
      .map((span) => `${span.attributes['mercato.delivery.outcome']}:${SpanStatusCode[span.status.code]}`)
      .sort();
    expect(outcomes).toEqual(['dead_lettered:ERROR', 'processed:OK', 'processed:OK', 'retried:ERROR']);
    expect(seen.get(2)).toBeGreaterThanOrEqual(2);
  });
});
