import { fileURLToPath } from 'node:url';
import { createLogger, createPool, migrate, type Pool } from '@mercato/chassis';
import { createTestDatabase, probePostgres, suiteTitle } from '@mercato/chassis/testing';
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
    return new PostgresCatalogStore(pool);
  });
});
