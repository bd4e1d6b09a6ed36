import { afterAll, beforeAll, describe } from 'vitest';
import { createPool, type Pool } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { createLogger } from '../src/logging/create-logger.ts';
import { messageBusContract } from '../src/messaging/message-bus.contract.ts';
import { messageStoreMigrations } from '../src/messaging/migrations-path.ts';
import { PostgresMessageBus } from '../src/messaging/postgres-bus/postgres-message-bus.ts';
import { createTestDatabase, probePostgres, suiteTitle } from '../src/testing/infra.ts';

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

  messageBusContract('PostgreSQL', async (options) => ({
    bus: new PostgresMessageBus({
      pool,
      listenUrl: url,
      logger,
      pollIntervalMs: 200,
      visibilityTimeoutMs: options?.visibilityTimeoutMs ?? 30_000,
    }),
  }));
});
