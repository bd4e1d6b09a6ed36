import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Pool } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { createLogger } from '../src/logging/create-logger.ts';
import { createTestDatabase, probePostgres, suiteTitle } from '../src/testing/infra.ts';

const postgres = await probePostgres();
const logger = createLogger({ service: 'migrate-test', level: 'silent' });

const migration = (table: string) => `-- Up Migration\nCREATE TABLE ${table} (id int PRIMARY KEY);\n`;

describe.skipIf(!postgres.available)(suiteTitle('migrations', postgres), () => {
  let pool: Pool;
  let folder = '';
  const cleanups: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    const database = await createTestDatabase('migrate_check');
    pool = createPool({ url: database.url, max: 2, applicationName: 'migrate-test' }, logger);
    folder = await mkdtemp(path.join(tmpdir(), 'mercato-migrations-'));
    cleanups.push(
      database.drop,
      () => pool.end(),
      () => rm(folder, { recursive: true, force: true }),
    );
  });
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('applies what is new, once, and nothing when everything is applied', async () => {
    await writeFile(path.join(folder, '1764000000000_first.sql'), migration('first'));
    expect(await migrate(pool, folder, logger, 'check_migrations')).toEqual({
      applied: ['1764000000000_first'],
    });
    expect(await migrate(pool, folder, logger, 'check_migrations')).toEqual({ applied: [] });

    await writeFile(path.join(folder, '1764000000001_second.sql'), migration('second'));
    expect(await migrate(pool, folder, logger, 'check_migrations')).toEqual({
      applied: ['1764000000001_second'],
    });
    const { rows } = await pool.query<{ name: string }>('SELECT name FROM check_migrations ORDER BY id');
    expect(rows.map((row) => row.name)).toEqual(['1764000000000_first', '1764000000001_second']);
    expect(await migrate(pool, folder, logger, 'check_migrations')).toEqual({ applied: [] });
  });

  it('still refuses a migration older than one already applied (node-pg-migrate checks the order)', async () => {
    await writeFile(path.join(folder, '1763000000000_older.sql'), migration('older'));
    await expect(migrate(pool, folder, logger, 'check_migrations')).rejects.toThrow(/older/);
    await rm(path.join(folder, '1763000000000_older.sql'));
  });

  it('starts an older release on a database a newer one migrated further (a rollback), migrating nothing', async () => {
    const older = await mkdtemp(path.join(tmpdir(), 'mercato-migrations-older-'));
    cleanups.push(() => rm(older, { recursive: true, force: true }));
    await writeFile(path.join(older, '1764000000000_first.sql'), migration('first'));
    expect(await migrate(pool, older, logger, 'check_migrations')).toEqual({ applied: [] });
    // One of its own not applied yet is still applied, and refused when it is older than another.
    await writeFile(path.join(older, '1764000000002_third.sql'), migration('third'));
    await expect(migrate(pool, older, logger, 'check_migrations')).rejects.toThrow();
  });
});
