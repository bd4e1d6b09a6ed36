import { afterAll, describe } from 'vitest';
import { createLogger } from '../src/logging/create-logger.ts';
import { messageBusContract } from '../src/messaging/message-bus.contract.ts';
import { NatsMessageBus } from '../src/messaging/nats-bus/nats-message-bus.ts';
import { probeNats, removeNatsStreams, suiteTitle, testNatsUrl } from '../src/testing/infra.ts';

const nats = await probeNats();
const logger = createLogger({ service: 'nats-bus-test', level: 'silent' });

describe.skipIf(!nats.available)(suiteTitle('NATS JetStream message bus', nats), () => {
  afterAll(() => removeNatsStreams(/^(EVENTS_TEST|QUEUE_TEST_)/));

  messageBusContract('NATS JetStream', async (options) => ({
    bus: await NatsMessageBus.connect({
      url: testNatsUrl(),
      logger,
      partitions: 8,
      visibilityTimeoutMs: options?.visibilityTimeoutMs ?? 30_000,
    }),
  }));
});
