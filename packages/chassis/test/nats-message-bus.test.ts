import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, describe } from 'vitest';
import { createLogger } from '../src/logging/create-logger.ts';
import { messageBusContract } from '../src/messaging/message-bus.contract.ts';
import { NatsMessageBus } from '../src/messaging/nats-bus/nats-message-bus.ts';
import { probeNats, suiteTitle, testNatsUrl } from '../src/testing/infra.ts';

const nats = await probeNats();
const logger = createLogger({ service: 'nats-bus-test', level: 'silent' });

/** Removes the streams the contract suite made (test topics and queues), with their consumers. */
async function removeTestStreams(): Promise<void> {
  const connection = await connect({ servers: testNatsUrl() });
  const jsm = await jetstreamManager(connection);
  for await (const stream of jsm.streams.list()) {
    if (/^(EVENTS_TEST|QUEUE_TEST_)/.test(stream.config.name)) await jsm.streams.delete(stream.config.name);
  }
  await connection.close();
}

describe.skipIf(!nats.available)(suiteTitle('NATS JetStream message bus', nats), () => {
  afterAll(removeTestStreams);

  messageBusContract('NATS JetStream', async (options) => ({
    bus: await NatsMessageBus.connect({
      url: testNatsUrl(),
      logger,
      partitions: 8,
      visibilityTimeoutMs: options?.visibilityTimeoutMs ?? 30_000,
    }),
  }));
});
