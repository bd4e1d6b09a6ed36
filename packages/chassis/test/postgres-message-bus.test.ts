import { afterAll, beforeAll, describe } from 'vitest';
import { createPool, type Pool } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { createLogger } from '../src/logging/create-logger.ts';
import { messageBusContract } from '../src/messaging/message-bus.contract.ts';
import { messageStoreMigrations } from '../src/messaging/migrations-path.ts';
import { PostgresMessageBus } from '../src/messaging/postgres-bus/postgres-message-bus.ts';
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
});
