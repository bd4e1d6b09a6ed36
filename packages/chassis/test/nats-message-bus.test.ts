import { afterAll, describe } from 'vitest';
import { createLogger } from '../src/logging/create-logger.ts';
import { messageBusContract } from '../src/messaging/message-bus.contract.ts';
import { NatsMessageBus } from '../src/messaging/nats-bus/nats-message-bus.ts';
import {
  probeNats,
  probePostgres,
  removeNatsStreams,
  suiteTitle,
  testNatsUrl,
} from '../src/testing/infra.ts';
import { crashDatabases, fixture } from './fixtures/crash-harness.ts';

const nats = await probeNats();
// The crash cases keep the inbox and the handler's effects in PostgreSQL.
const postgres = await probePostgres();
const logger = createLogger({ service: 'nats-bus-test', level: 'silent' });

describe.skipIf(!nats.available)(suiteTitle('NATS JetStream message bus', nats), () => {
  afterAll(() => removeNatsStreams(/^(EVENTS_TEST|QUEUE_TEST_)/));

  messageBusContract(
    'NATS JetStream',
    async (options) => ({
      bus: await NatsMessageBus.connect({
        url: testNatsUrl(),
        logger,
        partitions: 8,
        visibilityTimeoutMs: options?.visibilityTimeoutMs ?? 30_000,
      }),
    }),
    postgres.available
      ? {
          env: { BUS: 'nats', NATS_URL: testNatsUrl(), PARTITIONS: '8' },
          databases: () => crashDatabases(),
          spawn: fixture,
          publisher: () => NatsMessageBus.connect({ url: testNatsUrl(), logger, partitions: 8 }),
          // A restarted member's predecessor holds its deliveries one visibility timeout (1.5 s by
          // the bus's defaults) and a third more from the restart (`#predecessorHoldsUntil`).
          restartHoldMs: 2_000,
        }
      : undefined,
  );
});
