import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Pool } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { createLogger } from '../src/logging/create-logger.ts';
import { event, messageBusContract, toTopic } from '../src/messaging/message-bus.contract.ts';
import { messageStoreMigrations } from '../src/messaging/migrations-path.ts';
import { PostgresMessageBus } from '../src/messaging/postgres-bus/postgres-message-bus.ts';
import { waitFor } from '../src/testing/index.ts';
import { createTestDatabase, probePostgres, suiteTitle } from '../src/testing/infra.ts';
import { crashDatabases, fixture } from './fixtures/crash-harness.ts';

const postgres = await probePostgres();
const logger = createLogger({ service: 'bus-test', level: 'silent' });

describe.skipIf(!postgres.available)(suiteTitle('PostgreSQL message store', postgres), () => {
  let url = '';
  let pool: Pool;
  let drop: () => Promise<void> = async () => undefined;

  beforeAll(async () => {
    const database = await createTestDatabase('messages');
    url = database.url;
    drop = database.drop;
    pool = createPool({ url, max: 20, applicationName: 'bus-test' }, logger);
    await migrate(pool, messageStoreMigrations, logger, 'bus_migrations');
  });
  afterAll(async () => {
    await pool?.end();
    await drop();
  });

  messageBusContract(
    'PostgreSQL',
    async (options) => ({
      bus: new PostgresMessageBus({
        pool,
        listenUrl: url,
        logger,
        pollIntervalMs: 200,
        visibilityTimeoutMs: options?.visibilityTimeoutMs ?? 30_000,
      }),
    }),
    {
      env: {},
      databases: () => crashDatabases(),
      spawn: fixture,
      publisher: async (env) => {
        const busUrl = env.BUS_DATABASE_URL ?? '';
        const busPool = createPool({ url: busUrl, max: 2, applicationName: 'bus-test' }, logger);
        const bus = new PostgresMessageBus({ pool: busPool, listenUrl: busUrl, logger });
        return {
          name: bus.name,
          publish: (batch) => bus.publish(batch),
          subscribe: (options) => bus.subscribe(options),
          lag: (group, kind, destinations) => bus.lag(group, kind, destinations),
          close: async () => {
            await bus.close();
            await busPool.end();
          },
        };
      },
    },
  );

  it('an idle member handles one publish with two claims and an acknowledgement, and nothing else', async () => {
    // The member's own pool, every statement counted; the publisher has its own.
    const memberPool = createPool({ url, max: 4, applicationName: 'bus-test-member' }, logger);
    const statements: string[] = [];
    const query = memberPool.query.bind(memberPool) as (...args: unknown[]) => Promise<unknown>;
    (memberPool as unknown as { query: (...args: unknown[]) => Promise<unknown> }).query = (...args) => {
      const text = typeof args[0] === 'string' ? args[0] : '';
      statements.push(text.includes('claimable') ? 'claim' : (text.trim().split(/\s+/)[0] ?? '?'));
      return query(...args);
    };
    const member = new PostgresMessageBus({
      pool: memberPool,
      listenUrl: url,
      logger,
      pollIntervalMs: 30_000,
    });
    const publisher = new PostgresMessageBus({ pool, listenUrl: url, logger });
    const topic = `idle-cost-${Date.now().toString(36)}`;
    const handled: string[] = [];
    const subscription = await member.subscribe({
      group: `idle-cost-${topic}`,
      kind: 'topic',
      destinations: [topic],
      onDelivery: async (delivery) => {
        handled.push(delivery.messageId);
        await delivery.ack();
      },
    });
    try {
      await sleep(300);
      statements.length = 0;
      await publisher.publish([toTopic(topic, event('k1', 1))]);
      await waitFor('the delivery handled', () => handled.length === 1, 5_000, 10);
      await sleep(300);
      // One claim takes it, the acknowledgement, one more claim finds nothing and says when the
      // next is due. Not: a second loop's empty claim on the same notification, nor a separate
      // next-due query.
      expect(statements).toEqual(['claim', 'DELETE', 'claim']);
    } finally {
      await subscription.stop();
      await member.close();
      await publisher.close();
      await memberPool.end();
    }
  });
});
