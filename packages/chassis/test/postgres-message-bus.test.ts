import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Pool } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { createLogger } from '../src/logging/create-logger.ts';
import { event, messageBusContract, toTopic } from '../src/messaging/message-bus.contract.ts';
import { messageStoreMigrations } from '../src/messaging/migrations-path.ts';
import {
  BUS_CHANNEL,
  busChannel,
  PostgresMessageBus,
} from '../src/messaging/postgres-bus/postgres-message-bus.ts';
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

  /** A member on a pool of its own whose every statement is counted ('claim' or the first word). */
  const countedMember = async (topic: string, pollIntervalMs = 30_000) => {
    const memberPool = createPool({ url, max: 4, applicationName: 'bus-test-member' }, logger);
    const statements: string[] = [];
    let inFlight = 0;
    const query = memberPool.query.bind(memberPool) as (...args: unknown[]) => Promise<unknown>;
    (memberPool as unknown as { query: (...args: unknown[]) => Promise<unknown> }).query = (...args) => {
      const text = typeof args[0] === 'string' ? args[0] : '';
      statements.push(text.includes('claimable') ? 'claim' : (text.trim().split(/\s+/)[0] ?? '?'));
      inFlight += 1;
      return query(...args).finally(() => {
        inFlight -= 1;
      });
    };
    const member = new PostgresMessageBus({
      pool: memberPool,
      listenUrl: url,
      logger,
      pollIntervalMs,
    });
    const publisher = new PostgresMessageBus({ pool, listenUrl: url, logger });
    const handled: number[] = [];
    const group = `counted-${topic}`;
    const subscription = await member.subscribe({
      group,
      kind: 'topic',
      destinations: [topic],
      onDelivery: async (delivery) => {
        handled.push((delivery.envelope as { data: { seq: number } }).data.seq);
        await delivery.ack();
      },
    });
    // Counting starts once the member is idle: both claim loops' first claims answered (on a loaded
    // machine they may take longer than the pause; one still in flight when the publish is notified
    // looks again, an extra claim the test would count).
    await sleep(300);
    await waitFor('the member idle', () => inFlight === 0 && statements.length >= 2, 10_000, 10);
    statements.length = 0;
    const pending = async () =>
      (
        await pool.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM bus_deliveries WHERE group_name = $1',
          [group],
        )
      ).rows[0]?.n;
    return {
      statements,
      handled,
      publisher,
      pending,
      stop: async () => {
        await subscription.stop();
        await member.close();
        await publisher.close();
        await memberPool.end();
      },
    };
  };

  it('notifies each group on a channel of its own: a process hears only what it may claim', async () => {
    const stamp = Date.now().toString(36);
    const [mine, other] = [`own-channel-${stamp}`, `other-channel-${stamp}`];
    const bus = new PostgresMessageBus({ pool, listenUrl: url, logger });
    const subscriptions = await Promise.all(
      [mine, other].map((topic) =>
        bus.subscribe({
          group: `group-${topic}`,
          kind: 'topic',
          destinations: [topic],
          onDelivery: (delivery) => delivery.ack(),
        }),
      ),
    );
    const listener = new pg.Client({ connectionString: url });
    await listener.connect();
    const heard: string[] = [];
    listener.on('notification', (notification) =>
      heard.push(`${notification.channel} ${notification.payload ?? ''}`),
    );
    try {
      // What a member of `group-<mine>` listens on, and the channel of the release before.
      await listener.query(`LISTEN ${busChannel(`group-${mine}`)}; LISTEN ${BUS_CHANNEL}`);
      await bus.publish([toTopic(other, event('k1', 1))]);
      await sleep(300);
      expect(heard).toEqual([]);
      await bus.publish([toTopic(mine, event('k1', 2))]);
      await waitFor('the group notified', () => heard.length > 0, 5_000, 10);
      expect(heard).toEqual([`${busChannel(`group-${mine}`)} group-${mine}`]);
      expect(busChannel(`group-${mine}`)).toMatch(/^mercato_bus_[0-9a-f]{20}$/);
    } finally {
      await listener.end();
      for (const subscription of subscriptions) await subscription.stop();
      await bus.close();
    }
  });

  it('gives a group that joins a topic while it is published to every message once, by its copy of the history or by the fan-out', async () => {
    const topic = `join-race-${Date.now().toString(36)}`;
    const publisher = new PostgresMessageBus({ pool, listenUrl: url, logger });
    const joiner = new PostgresMessageBus({ pool, listenUrl: url, logger, visibilityTimeoutMs: 60_000 });
    const groups = Array.from({ length: 12 }, (_, index) => `joiner-${index}-${topic}`);
    let published = 0;
    let publishing = true;
    // Four publishers, one message a call, while the groups join one after another.
    const publishers = Array.from({ length: 4 }, async (_, writer) => {
      for (let seq = 0; publishing || seq < 20; seq += 1) {
        await publisher.publish([toTopic(topic, event(`w${writer}-${seq}`, seq))]);
        published += 1;
      }
    });
    const subscriptions = [];
    try {
      for (const group of groups) {
        await sleep(15);
        // Never acknowledged: every delivery the group got stays in its rows to be counted.
        subscriptions.push(
          await joiner.subscribe({ group, kind: 'topic', destinations: [topic], onDelivery: async () => {} }),
        );
      }
      publishing = false;
      await Promise.all(publishers);
      const { rows } = await pool.query<{ group_name: string; n: number; distinct_n: number }>(
        `SELECT group_name, count(*)::int AS n, count(DISTINCT position)::int AS distinct_n
           FROM bus_deliveries WHERE destination = $1 GROUP BY group_name ORDER BY group_name`,
        [topic],
      );
      expect(published).toBeGreaterThanOrEqual(80);
      expect(rows).toEqual(
        [...groups].sort().map((group) => ({ group_name: group, n: published, distinct_n: published })),
      );
    } finally {
      publishing = false;
      await Promise.allSettled(publishers);
      for (const subscription of subscriptions) await subscription.stop();
      await joiner.close();
      await publisher.close();
    }
  });

  it('listens on its groups’ channels again when its listening connection was cut', async () => {
    const topic = `relisten-${Date.now().toString(36)}`;
    // Polls every 30 s: a delivery handled within seconds was announced on the group's channel.
    const member = await countedMember(topic);
    const listening = async () =>
      (
        await pool.query<{ pid: number; query: string }>(
          `SELECT pid, query FROM pg_stat_activity
            WHERE application_name = 'bus-listener' AND datname = current_database() AND query LIKE 'LISTEN%'`,
        )
      ).rows;
    try {
      const [cut] = await listening();
      expect(cut).toBeDefined();
      await pool.query('SELECT pg_terminate_backend($1)', [cut?.pid]);
      // A terminated backend stays in pg_stat_activity for a moment: the new one has another pid.
      let now: Array<{ pid: number; query: string }> = [];
      await waitFor(
        'the listener reconnected',
        async () => {
          now = (await listening()).filter((row) => row.pid !== cut?.pid);
          return now.length === 1;
        },
        10_000,
        50,
      );
      expect(now[0]?.query).toContain(busChannel(`counted-${topic}`));
      await member.publisher.publish([toTopic(topic, event('k1', 1))]);
      await waitFor('the delivery handled', () => member.handled.length === 1, 5_000, 10);
    } finally {
      await member.stop();
    }
  });

  it('an idle member handles one publish with two claims, the second acknowledging it, and nothing else', async () => {
    const topic = `idle-cost-${Date.now().toString(36)}`;
    const member = await countedMember(topic);
    try {
      await member.publisher.publish([toTopic(topic, event('k1', 1))]);
      await waitFor('the delivery handled', () => member.handled.length === 1, 5_000, 10);
      await sleep(300);
      // One claim takes it; the next acknowledges it, finds nothing and says when the next is due.
      // Not: an acknowledgement of its own, a second loop's empty claim on the same notification,
      // nor a separate next-due query.
      expect(member.statements).toEqual(['claim', 'claim']);
      expect(await member.pending()).toBe(0);
    } finally {
      await member.stop();
    }
  });

  it('an idle member asks less often while its safety-net polls find nothing, and at the base interval again after a delivery', async () => {
    const topic = `quiet-${Date.now().toString(36)}`;
    // Polls every 100 ms at base: 30 claims in 3 s without the backoff; with it, 100, 200, 400 and
    // then every 800 ms.
    const member = await countedMember(topic, 100);
    try {
      await sleep(3_000);
      const idle = member.statements.filter((statement) => statement === 'claim').length;
      expect(idle).toBeGreaterThanOrEqual(2);
      expect(idle).toBeLessThanOrEqual(7);

      member.statements.length = 0;
      await member.publisher.publish([toTopic(topic, event('k1', 1))]);
      await waitFor('the delivery handled', () => member.handled.length === 1, 5_000, 10);
      // Back at the base: the claim that acknowledges it, then polls 100, 200 and 400 ms apart.
      await sleep(1_000);
      expect(member.statements.filter((statement) => statement === 'claim').length).toBeGreaterThanOrEqual(4);
    } finally {
      await member.stop();
    }
  });

  it("claims a key's next message published while its head's acknowledgement waited, without the safety net", async () => {
    // The race, made certain: the loop that handled the head acknowledges it with its next claim,
    // which waits (a row lock the test holds) with a snapshot taken before the next message commits.
    // That message's notification wakes the other loop, asleep, whose claim still sees the head
    // unacknowledged. Both find nothing; unless the loop that was awake looks again, the message
    // waits for the safety-net poll (30 s here).
    const topic = `ack-race-${Date.now().toString(36)}`;
    const memberPool = createPool({ url, max: 4, applicationName: 'bus-test-member' }, logger);
    const member = new PostgresMessageBus({
      pool: memberPool,
      listenUrl: url,
      logger,
      pollIntervalMs: 30_000,
    });
    const publisher = new PostgresMessageBus({ pool, listenUrl: url, logger });
    const locker = await pool.connect();
    const handled: number[] = [];
    const group = `ack-race-${topic}`;
    const subscription = await member.subscribe({
      group,
      kind: 'topic',
      destinations: [topic],
      onDelivery: async (delivery) => {
        const { seq } = (delivery.envelope as { data: { seq: number } }).data;
        if (seq === 1) {
          await locker.query('BEGIN');
          await locker.query(
            `SELECT 1 FROM bus_deliveries d JOIN bus_messages m ON m.position = d.position
              WHERE d.group_name = $1 AND m.message_id = $2 FOR UPDATE OF d`,
            [group, delivery.messageId],
          );
        }
        handled.push(seq);
        await delivery.ack();
      },
    });
    try {
      await sleep(300);
      await publisher.publish([toTopic(topic, event('k1', 1))]);
      await waitFor('the head handled', () => handled.length === 1, 5_000, 10);
      await sleep(200); // its acknowledging claim is waiting on the lock
      await publisher.publish([toTopic(topic, event('k1', 2))]);
      await sleep(300); // the other loop woke, claimed nothing, and sleeps
      const released = performance.now();
      await locker.query('COMMIT');
      await waitFor('the next message handled', () => handled.length === 2, 10_000, 10);
      expect(performance.now() - released).toBeLessThan(2_000);
      expect(handled).toEqual([1, 2]);
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      locker.release();
      await subscription.stop();
      await member.close();
      await publisher.close();
      await memberPool.end();
    }
  });

  it("claims a key's next message in the statement that acknowledges its head", async () => {
    const topic = `next-of-key-${Date.now().toString(36)}`;
    const member = await countedMember(topic);
    try {
      await member.publisher.publish([toTopic(topic, event('k1', 1)), toTopic(topic, event('k1', 2))]);
      await waitFor('both handled', () => member.handled.length === 2, 5_000, 10);
      await sleep(300);
      expect(member.handled).toEqual([1, 2]);
      // The head; its acknowledgement with the second; the second's with a look that finds nothing.
      expect(member.statements).toEqual(['claim', 'claim', 'claim']);
      expect(await member.pending()).toBe(0);
    } finally {
      await member.stop();
    }
  });
});
