import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Pool } from '../src/db/database.ts';
import { createLogger } from '../src/logging/create-logger.ts';
import { createTestDatabase, probePostgres, suiteTitle } from '../src/testing/infra.ts';

const postgres = await probePostgres();
const logger = createLogger({ service: 'pool-test', level: 'silent' });

/**
 * An idle service keeps one connection: its next statement, a minute later, does not pay for a
 * new connection, a SCRAM exchange and a PostgreSQL backend's start. Connections beyond that one
 * still close when unused.
 */
describe.skipIf(!postgres.available)(suiteTitle('an idle pool', postgres), () => {
  let pool: Pool;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const database = await createTestDatabase('idle_pool');
    drop = database.drop;
    pool = createPool(
      { url: database.url, max: 4, applicationName: 'idle-pool', idleTimeoutMs: 200 },
      logger,
    );
  });
  afterAll(async () => {
    await pool?.end();
    await drop?.();
  });

  it('keeps one connection, the same backend, past the idle timeout; closes the others', async () => {
    const backends = await Promise.all(
      Array.from({ length: 3 }, async () => {
        const client = await pool.connect();
        try {
          const { rows } = await client.query<{ pid: number }>(
            'SELECT pg_backend_pid() AS pid, pg_sleep(0.05)',
          );
          return rows[0]?.pid;
        } finally {
          client.release();
        }
      }),
    );
    expect(new Set(backends).size).toBe(3);
    await sleep(800);
    expect(pool.totalCount).toBe(1);
    const { rows } = await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    expect(backends).toContain(rows[0]?.pid);
  });
});
