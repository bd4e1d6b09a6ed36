import { setTimeout as sleep } from 'node:timers/promises';
import { createEnvelope, type Envelope, MessageRegistry } from '@mercato/contracts';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPool, inTransaction, type Pool } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { createHttpServer } from '../src/http/create-http-server.ts';
import { createLogger } from '../src/logging/create-logger.ts';
import { deadLetterRoutes } from '../src/messaging/dead-letter.routes.ts';
import { DeadLetterStore } from '../src/messaging/dead-letter-store.ts';
import type { MessageHandler } from '../src/messaging/inbox.ts';
import { MESSAGING_MIGRATIONS_TABLE, messagingMigrations } from '../src/messaging/index.ts';
import { event, testEvent, toTopic } from '../src/messaging/message-bus.contract.ts';
import type { MessageBus } from '../src/messaging/message-bus.port.ts';
import { MessageConsumer } from '../src/messaging/message-consumer.ts';
import { messageStoreMigrations } from '../src/messaging/migrations-path.ts';
import { NatsMessageBus } from '../src/messaging/nats-bus/nats-message-bus.ts';
import { Outbox } from '../src/messaging/outbox.ts';
import { OutboxRelay, type OutboxRelaySettings } from '../src/messaging/outbox-relay.ts';
import { PostgresMessageBus } from '../src/messaging/postgres-bus/postgres-message-bus.ts';
import { createServiceMetrics } from '../src/metrics/service-metrics.ts';
import { createTestDatabase, suiteTitle, testNatsUrl } from '../src/testing/infra.ts';
import { parsePrometheusText, sampleValue } from '../src/testing/prometheus-text.ts';
import { waitFor } from '../src/testing/wait-for.ts';
import { busAdapters } from './fixtures/bus-adapters.ts';

const { adapters } = await busAdapters(/^EVENTS_CTEST$/);
// Topics of this run only: streams and durable consumers outlive a run on a shared NATS server.
const run = Date.now().toString(36);
const topic = (name: string) => `ctest.${name}.${run}`;
const logger = createLogger({ service: 'consumer-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const messages = new MessageRegistry([testEvent]);

describe.each(adapters)('outbox → $name → consumer with inbox', ({ name, ready, missing }) => {
  describe.skipIf(!ready)(suiteTitle('on real servers', missing), () => {
    const drops: Array<() => Promise<void>> = [];
    let busPool: Pool;
    let busUrl = '';
    let servicePool: Pool;
    let serviceUrl = '';
    const running: Array<{ stop: () => Promise<void> }> = [];

    beforeAll(async () => {
      const busDb = await createTestDatabase('messages');
      const serviceDb = await createTestDatabase('consumer');
      drops.push(busDb.drop, serviceDb.drop);
      busUrl = busDb.url;
      serviceUrl = serviceDb.url;
      busPool = createPool({ url: busUrl, max: 10, applicationName: 'bus' }, logger);
      servicePool = createPool({ url: serviceUrl, max: 10, applicationName: 'service' }, logger);
      await migrate(busPool, messageStoreMigrations, logger, 'bus_migrations');
      await migrate(servicePool, messagingMigrations, logger, MESSAGING_MIGRATIONS_TABLE);
      await servicePool.query('CREATE TABLE effects (message_id text NOT NULL, seq int NOT NULL)');
    });
    afterEach(async () => {
      for (const part of running.splice(0).reverse()) await part.stop();
      await servicePool.query('TRUNCATE effects, mercato_inbox, mercato_dead_letters, mercato_outbox');
    });
    afterAll(async () => {
      await busPool?.end();
      await servicePool?.end();
      for (const drop of drops) await drop();
    });

    const newBus = async (visibilityTimeoutMs = 30_000, renew = true): Promise<MessageBus> => {
      const bus =
        name === 'NATS JetStream'
          ? await NatsMessageBus.connect({
              url: testNatsUrl(),
              logger,
              partitions: 4,
              visibilityTimeoutMs,
              renewWhileHandling: renew,
            })
          : new PostgresMessageBus({
              pool: busPool,
              listenUrl: busUrl,
              logger,
              pollIntervalMs: 100,
              visibilityTimeoutMs,
              renewClaims: renew,
            });
      running.push({ stop: () => bus.close() });
      return bus;
    };
    /** The service database's outbox relay onto `bus`, started, stopped after the test. */
    const startRelay = (bus: MessageBus, settings: Partial<OutboxRelaySettings> = {}) => {
      const relay = new OutboxRelay({
        pool: servicePool,
        databaseUrl: serviceUrl,
        bus,
        logger,
        registry: new Registry(),
        ...settings,
      });
      relay.start();
      running.push(relay);
      return relay;
    };
    const recordEffect: MessageHandler = async (message, transaction) => {
      await transaction.query('INSERT INTO effects (message_id, seq) VALUES ($1, $2)', [
        message.event_id,
        message.data.seq,
      ]);
    };
    const startConsumer = async (
      bus: MessageBus,
      group: string,
      topic: string,
      handler: MessageHandler,
      registry = new Registry(),
    ) => {
      const consumer = new MessageConsumer(
        {
          group,
          kind: 'topic',
          destinations: [topic],
          handler,
          maxAttempts: 3,
          backoff: { baseMs: 20, maxMs: 50 },
        },
        {
          pool: servicePool,
          bus,
          messages,
          deadLetters: new DeadLetterStore(servicePool),
          logger,
          registry,
        },
      );
      await consumer.start();
      running.push(consumer);
      return consumer;
    };
    /** `outcome:count` of every delivery the consumers of `registry` finished, sorted. */
    const outcomesIn = async (registry: Registry) =>
      parsePrometheusText(await registry.metrics())
        .find((family) => family.name === 'consumer_handle_duration_seconds')
        ?.samples.filter((sample) => sample.name.endsWith('_count'))
        .map((sample) => `${sample.labels.outcome}:${sample.value}`)
        .sort() ?? [];
    const effects = async () =>
      (await servicePool.query<{ message_id: string; seq: number }>('SELECT * FROM effects ORDER BY seq'))
        .rows;

    it('delivers what a transaction committed to the outbox, once each, and exposes lag and backlog', async () => {
      const bus = await newBus();
      const registry = new Registry();
      await startConsumer(bus, 'readers', topic('happened'), recordEffect, registry);
      const outbox = new Outbox(messages);
      const sent: Envelope[] = Array.from({ length: 20 }, (_, seq) => event(`k${seq % 3}`, seq));
      await inTransaction(servicePool, (client) =>
        outbox.append(
          client,
          sent.map((envelope) => toTopic(topic('happened'), envelope)),
        ),
      );
      startRelay(bus, { registry, pollIntervalMs: 100 });

      await waitFor('twenty effects', async () => (await effects()).length === 20);
      expect((await effects()).map((row) => row.message_id).sort()).toEqual(
        sent.map((e) => e.event_id).sort(),
      );
      // The relay deletes a batch after the bus has it, and acks follow commits: both settle just after.
      let metrics = parsePrometheusText(await registry.metrics());
      const value = (name: string) => sampleValue(metrics, name);
      await waitFor('backlog and lag at zero', async () => {
        metrics = parsePrometheusText(await registry.metrics());
        return value('outbox_backlog') === 0 && value('consumer_lag_messages') === 0;
      });
      expect(value('outbox_backlog')).toBe(0);
      expect(value('outbox_published_total')).toBe(20);
      expect(value('consumer_lag_messages')).toBe(0);
      expect(
        metrics.find((family) => family.name === 'consumer_handle_duration_seconds')?.samples.length,
      ).toBeGreaterThan(0);
    });

    it('keeps each key in commit order from the outbox to the handler, across a digit boundary', async () => {
      // Positions 95..118: the relay once ordered them as text, putting 100 before 95.
      await servicePool.query('ALTER SEQUENCE mercato_outbox_position_seq RESTART WITH 95');
      const outbox = new Outbox(messages);
      for (let seq = 0; seq < 24; seq++) {
        await inTransaction(servicePool, (client) =>
          outbox.append(client, [toTopic(topic('ordered'), event(`k${seq % 2}`, seq))]),
        );
      }
      const bus = await newBus();
      const handled: number[] = [];
      await startConsumer(bus, 'in-order', topic('ordered'), async (message, transaction) => {
        await recordEffect(message, transaction);
        handled.push(Number(message.data.seq));
      });
      startRelay(bus);

      await waitFor('24 effects', async () => (await effects()).length === 24);
      const evens = Array.from({ length: 12 }, (_, index) => index * 2);
      expect(handled.filter((seq) => seq % 2 === 0)).toEqual(evens);
      expect(handled.filter((seq) => seq % 2 === 1)).toEqual(evens.map((seq) => seq + 1));
    });

    it('deletes a published batch with the read of the next one, and the last one on stop', async () => {
      const bus = await newBus();
      const outbox = new Outbox(messages);
      const append = (seqs: number[]) =>
        inTransaction(servicePool, (client) =>
          outbox.append(
            client,
            seqs.map((seq) => toTopic(topic('batched'), event(`k${seq}`, seq))),
          ),
        );
      const outboxRows = async () =>
        (await servicePool.query<{ n: number }>('SELECT count(*)::int AS n FROM mercato_outbox')).rows[0]?.n;
      // What the outbox held while each batch was being handed to the bus.
      const heldAtPublish: Array<number | undefined> = [];
      const publish = bus.publish.bind(bus);
      bus.publish = async (batch) => {
        heldAtPublish.push(await outboxRows());
        await publish(batch);
      };
      await append([1, 2]);
      // A minute: only the next read, or the stop, deletes a published batch in this test.
      const relay = startRelay(bus, { deleteWithinMs: 60_000 });
      await waitFor('the first batch published', async () => heldAtPublish.length === 1);
      await sleep(200);
      expect(await outboxRows()).toBe(2);
      await append([3]);
      await waitFor('the second batch published', async () => heldAtPublish.length === 2);
      // Gone while the second was handed over: the statement that read the second deleted the first.
      expect(heldAtPublish).toEqual([2, 1]);
      await relay.stop();
      expect(await outboxRows()).toBe(0);
    });

    it('writes nothing to the outbox when the transaction rolls back', async () => {
      const outbox = new Outbox(messages);
      await expect(
        inTransaction(servicePool, async (client) => {
          await outbox.append(client, [toTopic(topic('happened'), event('k', 1))]);
          throw new Error('business rule failed');
        }),
      ).rejects.toThrow('business rule failed');
      expect((await servicePool.query('SELECT count(*)::int AS n FROM mercato_outbox')).rows[0]).toEqual({
        n: 0,
      });
    });

    it('refuses to write an invalid message to the outbox', async () => {
      const outbox = new Outbox(messages);
      const bad = { ...event('k', 1), data: { key: 'k', seq: 'one' } };
      await expect(
        inTransaction(servicePool, (client) => outbox.append(client, [toTopic(topic('happened'), bad)])),
      ).rejects.toMatchObject({ code: 'MESSAGING.INVALID_MESSAGE' });
    });

    it('keeps a slow handler’s message with its member while it works: the claim is renewed past the visibility timeout', async () => {
      const bus = await newBus(300);
      const registry = new Registry();
      const slow: MessageHandler = async (message, transaction) => {
        await recordEffect(message, transaction);
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      };
      await startConsumer(bus, 'renew', topic('renew'), slow, registry);
      await startConsumer(bus, 'renew', topic('renew'), slow, registry);
      await bus.publish([toTopic(topic('renew'), event('k', 8))]);
      await waitFor('the delivery handled', async () => (await outcomesIn(registry)).length >= 1, 10_000);
      await new Promise((resolve) => setTimeout(resolve, 500));
      // Three visibility timeouts passed while it worked; nobody else was handed the message.
      expect(await outcomesIn(registry)).toEqual(['processed:1']);
      expect(await effects()).toHaveLength(1);
    });

    it('applies the effect once when a slow handler is redelivered to another member', async () => {
      // Its claim lapses while it works (renewals off: as when the member is paused or cut off).
      const bus = await newBus(300, false);
      const registry = new Registry();
      const slow: MessageHandler = async (message, transaction) => {
        await recordEffect(message, transaction);
        await new Promise((resolve) => setTimeout(resolve, 900));
      };
      await startConsumer(bus, 'slow', topic('slow'), slow, registry);
      await startConsumer(bus, 'slow', topic('slow'), slow, registry);
      await bus.publish([toTopic(topic('slow'), event('k', 7))]);
      // The second member's inbox insert waits for the first transaction, then finds the row.
      const outcomes = () => outcomesIn(registry);
      await waitFor(
        'a processed and a duplicate delivery',
        async () => (await outcomes()).length === 2,
        10_000,
      );
      // How often it is redelivered while the first attempt runs depends on timing; that it is
      // processed once, and every other delivery is recognised as a duplicate, does not.
      expect(await outcomes()).toEqual([expect.stringMatching(/^duplicate:[1-9]\d*$/), 'processed:1']);
      expect(await effects()).toHaveLength(1);
    });

    it('treats an acknowledgement that fails after the effect committed as the bus problem: no retry, no dead letter', async () => {
      const real = await newBus(500);
      const registry = new Registry();
      let failedAcks = 0;
      // The first acknowledgement is lost (as when the bus connection drops right after the commit).
      const bus: MessageBus = {
        ...real,
        name: real.name,
        publish: (batch) => real.publish(batch),
        lag: (group, kind, destinations) => real.lag(group, kind, destinations),
        close: () => real.close(),
        subscribe: (options) =>
          real.subscribe({
            ...options,
            onDelivery: (delivery) =>
              options.onDelivery({
                ...delivery,
                ack: async () => {
                  if (failedAcks === 0) {
                    failedAcks += 1;
                    throw new Error('bus connection lost');
                  }
                  await delivery.ack();
                },
              }),
          }),
      };
      let calls = 0;
      await startConsumer(
        bus,
        'acks',
        topic('acks'),
        async (message, transaction) => {
          calls += 1;
          await recordEffect(message, transaction);
        },
        registry,
      );
      await bus.publish([toTopic(topic('acks'), event('k', 1))]);
      const outcomes = () => outcomesIn(registry);
      // Redelivered once the claim lapses, and recognised by the inbox.
      await waitFor(
        'the redelivery skipped as a duplicate',
        async () => (await outcomes()).includes('duplicate:1'),
        10_000,
      );
      expect(await outcomes()).toEqual(['duplicate:1', 'unacknowledged:1']);
      expect(calls).toBe(1);
      expect(await effects()).toHaveLength(1);
      expect(await new DeadLetterStore(servicePool).list()).toEqual([]);
    });

    it('dead-letters a poison message after its attempts, then replays it once fixed', async () => {
      const bus = await newBus();
      let broken = true;
      let calls = 0;
      const fragile: MessageHandler = async (message, transaction) => {
        calls += 1;
        if (broken && message.data.key === 'k') throw new Error('price list missing');
        await recordEffect(message, transaction);
      };
      const consumer = await startConsumer(bus, 'fragile', topic('poison'), fragile);
      const poison = event('k', 3);
      await bus.publish([toTopic(topic('poison'), poison), toTopic(topic('poison'), event('other', 4))]);
      const store = new DeadLetterStore(servicePool);
      await waitFor('a dead letter', async () => (await store.list()).length === 1, 10_000);
      // The healthy message has another key, so on NATS another partition: it may finish later.
      await waitFor('the healthy message handled', async () => (await effects()).length === 1, 10_000);
      const [letter] = await store.list();
      expect(letter).toMatchObject({
        group: 'fragile',
        messageId: poison.event_id,
        attempts: 3,
        error: 'price list missing',
      });
      expect(calls).toBeGreaterThanOrEqual(4);
      expect((await effects()).map((row) => row.seq)).toEqual([4]);

      // Operators see and replay it over HTTP on the service's own port.
      const app = createHttpServer({ logger, metrics: createServiceMetrics('dlq-test') });
      await app.register(deadLetterRoutes(store, [consumer]));
      const listed = await app.inject({ url: '/admin/dead-letters?group=fragile' });
      expect(listed.json().items).toMatchObject([
        { id: letter?.id, message_id: poison.event_id, attempts: 3 },
      ]);
      const stillBroken = await app.inject({
        method: 'POST',
        url: `/admin/dead-letters/${letter?.id}/replay`,
      });
      expect(stillBroken.statusCode).toBe(409);
      expect(stillBroken.json().code).toBe('MESSAGING.REPLAY_FAILED');
      expect(
        (await app.inject({ method: 'POST', url: '/admin/dead-letters/999999/replay' })).statusCode,
      ).toBe(404);

      broken = false;
      const replayed = await app.inject({
        method: 'POST',
        url: `/admin/dead-letters/${letter?.id}/replay`,
      });
      expect(replayed.json()).toEqual({ id: letter?.id, outcome: 'processed' });
      await app.close();
      expect((await effects()).map((row) => row.message_id)).toContain(poison.event_id);
      expect(await store.list()).toEqual([]);
      expect((await store.list({ includeReplayed: true }))[0]?.replayedAt).toBeInstanceOf(Date);
      expect(await consumer.replay(letter?.id ?? 0)).toBe('duplicate');
      expect((await store.list({ includeReplayed: true }))[0]?.attempts).toBe(4);
    });

    it('dead-letters a message it cannot read, with the reason, at once', async () => {
      const bus = await newBus();
      let calls = 0;
      await startConsumer(bus, 'strict', topic('unknown'), async () => {
        calls += 1;
      });
      const unknown = {
        ...createEnvelope({
          contract: testEvent,
          data: { key: 'k', seq: 1 },
          source: 't',
          correlationId: 'c',
        }),
      };
      unknown.event_type = 'test.unheard_of';
      await bus.publish([{ kind: 'topic', destination: topic('unknown'), key: 'k', envelope: unknown }]);
      const store = new DeadLetterStore(servicePool);
      await waitFor('a dead letter', async () => (await store.list({ group: 'strict' })).length === 1);
      expect((await store.list({ group: 'strict' }))[0]).toMatchObject({
        attempts: 1,
        error: 'unknown message type test.unheard_of',
      });
      expect(calls).toBe(0);
    });
  });
});
