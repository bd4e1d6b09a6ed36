import { fileURLToPath } from 'node:url';
import {
  createLogger,
  createPool,
  MESSAGING_MIGRATIONS_TABLE,
  messagingMigrations,
  migrate,
  Outbox,
  type Pool,
} from '@mercato/chassis';
import { createTestDatabase, probePostgres, suiteTitle } from '@mercato/chassis/testing';
import { catalogEvents, MessageRegistry } from '@mercato/contracts';
import { afterAll, describe } from 'vitest';
import { catalogStoreContract } from './catalog-store.contract.ts';
import { PostgresCatalogStore } from './postgres-catalog-store.ts';

const postgres = await probePostgres();
const migrations = fileURLToPath(new URL('../../../migrations', import.meta.url));
const logger = createLogger({ service: 'test', level: 'silent' });

describe.skipIf(!postgres.available)(suiteTitle('PostgresCatalogStore', postgres), () => {
  const cleanups: Array<() => Promise<void>> = [];
  let pools: Pool[] = [];

  afterAll(async () => {
    await Promise.all(pools.map((pool) => pool.end()));
    pools = [];
    for (const cleanup of cleanups) await cleanup();
  });

  // Each test gets a fresh, migrated database so the contract starts from empty every time.
  catalogStoreContract('PostgreSQL', async () => {
    const database = await createTestDatabase('catalog_store');
    cleanups.push(database.drop);
    const pool = createPool({ url: database.url, max: 3, applicationName: 'catalog-test' }, logger);
    pools.push(pool);
    await migrate(pool, migrations, logger);
    await migrate(pool, messagingMigrations, logger, MESSAGING_MIGRATIONS_TABLE);
    const store = new PostgresCatalogStore(pool, new Outbox(new MessageRegistry(catalogEvents)));
    const publishedIds = async () =>
      (
        await pool.query<{ message_id: string }>('SELECT message_id FROM mercato_outbox ORDER BY position')
      ).rows.map((row) => row.message_id);
    return { store, publishedIds };
  });
});
