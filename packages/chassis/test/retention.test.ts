import { createEnvelope } from '@mercato/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Pool } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { createLogger } from '../src/logging/create-logger.ts';
import { testEvent } from '../src/messaging/message-bus.contract.ts';
import {
  MESSAGING_MIGRATIONS_TABLE,
  messageStoreMigrations,
  messagingMigrations,
} from '../src/messaging/migrations-path.ts';
import { PostgresMessageBus } from '../src/messaging/postgres-bus/postgres-message-bus.ts';
import { INBOX_RETENTION, MESSAGE_RETENTION, RetentionSweeper } from '../src/messaging/retention-sweeper.ts';
import { createTestDatabase, probePostgres, suiteTitle } from '../src/testing/infra.ts';
import { waitFor } from '../src/testing/wait-for.ts';

const postgres = await probePostgres();
const logger = createLogger({ service: 'retention-test', level: 'silent' });
const DAY_MS = 86_400_000;

describe.skipIf(!postgres.available)(
  suiteTitle('retention of the inbox and the message log', postgres),
  () => {
    const cleanups: Array<() => Promise<unknown>> = [];
    let busPool: Pool;
    let busUrl = '';
    let servicePool: Pool;

    beforeAll(async () => {
      const busDb = await createTestDatabase('retention_messages');
      const serviceDb = await createTestDatabase('retention_service');
      busUrl = busDb.url;
      busPool = createPool({ url: busDb.url, max: 4, applicationName: 'bus' }, logger);
      servicePool = createPool({ url: serviceDb.url, max: 4, applicationName: 'service' }, logger);
      cleanups.push(
        () => busPool.end(),
        () => servicePool.end(),
        busDb.drop,
        serviceDb.drop,
      );
      await migrate(busPool, messageStoreMigrations, logger, 'bus_migrations');
      await migrate(servicePool, messagingMigrations, logger, MESSAGING_MIGRATIONS_TABLE);
    });
    afterAll(async () => {
      for (const cleanup of cleanups) await cleanup();
    });

    it('removes inbox rows older than the window, in batches, and keeps the recent ones', async () => {
      await servicePool.query(
        `INSERT INTO mercato_inbox (group_name, message_id, processed_at)
       SELECT 'g', 'old-' || n, now() - interval '8 days' FROM generate_series(1, 25) n
       UNION ALL SELECT 'g', 'new-' || n, now() - interval '1 hour' FROM generate_series(1, 5) n`,
      );
      const sweeper = new RetentionSweeper({
        pool: servicePool,
        logger,
        what: 'inbox rows',
        deleteBatch: INBOX_RETENTION,
        retentionMs: 7 * DAY_MS,
        batchSize: 10,
      });
      expect(await sweeper.sweep()).toBe(25);
      const { rows } = await servicePool.query<{ message_id: string }>(
        'SELECT message_id FROM mercato_inbox',
      );
      expect(rows.map((row) => row.message_id).sort()).toEqual(['new-1', 'new-2', 'new-3', 'new-4', 'new-5']);
    });

    it('removes old commands every consumer has acknowledged, never one still to handle, never an event', async () => {
      const bus = new PostgresMessageBus({ pool: busPool, listenUrl: busUrl, logger, pollIntervalMs: 50 });
      cleanups.unshift(() => bus.close());
      const handled: number[] = [];
      await bus.subscribe({
        group: 'fast',
        kind: 'queue',
        destinations: ['retention.happened'],
        onDelivery: async (delivery) => {
          handled.push(Number((delivery.envelope as { data: { seq: number } }).data.seq));
          await delivery.ack();
        },
      });
      // A second queue whose consumer never acknowledges: its messages must stay.
      await bus.subscribe({
        group: 'stuck',
        kind: 'queue',
        destinations: ['retention.stuck'],
        onDelivery: async () => undefined,
      });
      const message = (destination: string, seq: number, kind: 'topic' | 'queue' = 'queue') => ({
        kind,
        destination,
        key: `k${seq}`,
        envelope: createEnvelope({
          contract: testEvent,
          data: { key: `k${seq}`, seq },
          source: 'test',
          correlationId: 'c',
        }),
      });
      await bus.publish([1, 2, 3].map((seq) => message('retention.happened', seq)));
      await bus.publish([4].map((seq) => message('retention.stuck', seq)));
      // Events are the log read models rebuild from: kept, however old.
      await bus.publish([5].map((seq) => message('retention.happened', seq, 'topic')));
      await waitFor('the fast group done', () => handled.length === 3);
      await waitFor('acknowledged', async () => {
        const { rows } = await busPool.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM bus_deliveries WHERE group_name = 'queue:retention.happened'",
        );
        return rows[0]?.n === 0;
      });
      // Everything published "two days ago"; message 3 only an hour ago.
      await busPool.query("UPDATE bus_messages SET published_at = now() - interval '2 days'");
      await busPool.query(
        `UPDATE bus_messages SET published_at = now() - interval '1 hour' WHERE envelope->'data'->>'seq' = '3'`,
      );
      const sweeper = new RetentionSweeper({
        pool: busPool,
        logger,
        what: 'acknowledged bus messages',
        deleteBatch: MESSAGE_RETENTION,
        retentionMs: DAY_MS,
      });
      expect(await sweeper.sweep()).toBe(2);
      const { rows } = await busPool.query<{ seq: string }>(
        "SELECT envelope->'data'->>'seq' AS seq FROM bus_messages ORDER BY position",
      );
      expect(rows.map((row) => row.seq)).toEqual(['3', '4', '5']);
    });
  },
);
