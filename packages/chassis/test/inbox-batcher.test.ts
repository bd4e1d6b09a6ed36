import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Pool } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { createLogger } from '../src/logging/create-logger.ts';
import type { MessageHandler } from '../src/messaging/inbox.ts';
import { InboxBatcher } from '../src/messaging/inbox-batcher.ts';
import { MESSAGING_MIGRATIONS_TABLE, messagingMigrations } from '../src/messaging/index.ts';
import { event } from '../src/messaging/message-bus.contract.ts';
import { createTestDatabase, probePostgres, suiteTitle } from '../src/testing/infra.ts';
import { waitFor } from '../src/testing/wait-for.ts';

const postgres = await probePostgres();
const logger = createLogger({ service: 'batcher-test', level: 'silent' });

describe.skipIf(!postgres.available)(suiteTitle('InboxBatcher', postgres), () => {
  let pool: Pool;
  let drop: () => Promise<void> = async () => undefined;
  beforeAll(async () => {
    const database = await createTestDatabase('batcher');
    drop = database.drop;
    pool = createPool({ url: database.url, max: 4, applicationName: 'batcher-test' }, logger);
    await migrate(pool, messagingMigrations, logger, MESSAGING_MIGRATIONS_TABLE);
    await pool.query('CREATE TABLE effects (message_id text NOT NULL, seq int NOT NULL)');
  });
  afterAll(async () => {
    await pool?.end();
    await drop();
  });

  const record: MessageHandler = async (message, transaction) => {
    if (message.data.key === 'poison') throw new Error('cannot handle');
    await transaction.query('INSERT INTO effects VALUES ($1, $2)', [message.event_id, message.data.seq]);
  };
  const effects = async () =>
    (await pool.query<{ seq: number }>('SELECT seq FROM effects ORDER BY seq')).rows.map((r) => r.seq);

  it('handles a batch in one transaction, a duplicate within it once, and a redelivery as duplicate', async () => {
    const batcher = new InboxBatcher(pool, 'together', record);
    const first = event('a', 1);
    const outcomes = await Promise.all([
      batcher.handle(first),
      batcher.handle(event('b', 2)),
      batcher.handle(first),
    ]);
    expect(outcomes).toEqual(['processed', 'processed', 'duplicate']);
    expect(await batcher.handle(first)).toBe('duplicate');
    expect(await effects()).toEqual([1, 2]);
  });

  it('falls back to one transaction each when a handler fails, so neighbours still succeed', async () => {
    await pool.query('TRUNCATE effects');
    const batcher = new InboxBatcher(pool, 'fallback', record);
    const settled = await Promise.allSettled([
      batcher.handle(event('c', 3)),
      batcher.handle(event('poison', 4)),
      batcher.handle(event('d', 5)),
    ]);
    expect(settled.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(await effects()).toEqual([3, 5]);
    const inbox = await pool.query(
      "SELECT count(*)::int AS n FROM mercato_inbox WHERE group_name = 'fallback'",
    );
    expect(inbox.rows[0]).toEqual({ n: 2 });
  });

  it('handles messages alone and side by side when batches are of 1, none waiting for a slow one', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const started: string[] = [];
    const slowFirst: MessageHandler = async (message, transaction) => {
      started.push(String(message.data.key));
      if (message.data.key === 'slow') await gate;
      await transaction.query('SELECT 1');
    };
    const batcher = new InboxBatcher(pool, 'alone', slowFirst, 1);
    const slow = batcher.handle(event('slow', 1));
    try {
      // The slow one is in its handler (its transaction open), waiting on its gate…
      await waitFor('the slow handler to start', async () => started.includes('slow'), 10_000, 5);
      // …and the quick one, handed over after it, finishes all the same.
      expect(await batcher.handle(event('quick', 2))).toBe('processed');
      expect(started).toEqual(['slow', 'quick']);
    } finally {
      release();
    }
    expect(await slow).toBe('processed');
  });
});
