import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, inTransaction, type Pool } from '../src/db/database.ts';
import { PREPARE_AFTER } from '../src/db/statement-names.ts';
import { createLogger } from '../src/logging/create-logger.ts';
import { createTestDatabase, probePostgres, suiteTitle } from '../src/testing/infra.ts';

const postgres = await probePostgres();
const logger = createLogger({ service: 'named-statements-test', level: 'silent' });

/**
 * The chassis pool prepares a statement with parameters once per connection (PostgreSQL parses and
 * plans it once per session, not on every call), and a migration run meanwhile by another release
 * fails no statement outside a transaction and at most one transaction's.
 */
describe.skipIf(!postgres.available)(suiteTitle('named statements of the chassis pool', postgres), () => {
  let pool: Pool;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const database = await createTestDatabase('named_statements');
    drop = database.drop;
    // One connection: every statement below runs in the session whose prepared statements are read.
    pool = createPool({ url: database.url, max: 1, applicationName: 'named-statements' }, logger);
    await pool.query('CREATE TABLE items (id text PRIMARY KEY, quantity int NOT NULL)');
    await pool.query(`INSERT INTO items VALUES ('a', 1), ('b', 2)`);
  });
  afterAll(async () => {
    await pool?.end();
    await drop?.();
  });

  /** Runs a statement as often as it must before it is prepared; the last call's rows. */
  const often = async (run: () => Promise<{ rows: unknown[] }>) => {
    let rows: unknown[] = [];
    for (let call = 0; call < PREPARE_AFTER; call += 1) ({ rows } = await run());
    return rows;
  };

  const prepared = async () =>
    (await pool.query<{ statement: string }>('SELECT statement FROM pg_prepared_statements')).rows.map(
      (row) => row.statement,
    );

  it('prepares a statement with parameters once it has run a few times, and runs it by name after that', async () => {
    const text = 'SELECT quantity FROM items WHERE id = $1';
    for (let call = 1; call < PREPARE_AFTER; call += 1)
      expect((await pool.query(text, ['a'])).rows).toEqual([{ quantity: 1 }]);
    expect(await prepared()).not.toContain(text);
    expect((await pool.query({ text, values: ['b'] })).rows).toEqual([{ quantity: 2 }]);
    expect((await pool.query(text, ['a'])).rows).toEqual([{ quantity: 1 }]);
    expect((await prepared()).filter((statement) => statement === text)).toHaveLength(1);
  });

  it('prepares a read without parameters too, but not several statements in one text, nor a `*` read', async () => {
    expect(await often(() => pool.query('SELECT count(*)::int AS n FROM items'))).toEqual([{ n: 2 }]);
    expect(
      await often(() => pool.query({ text: 'WITH i AS (SELECT id FROM items) SELECT min(id) AS id FROM i' })),
    ).toEqual([{ id: 'a' }]);
    // Several statements in one text: the simple protocol's, which takes no name.
    await often(() => pool.query('SELECT 1 AS one; SELECT 2 AS two'));
    await often(() => pool.query('SELECT * FROM items WHERE id = $1', ['a']));
    await often(() => pool.query('SELECT * FROM items'));
    const statements = await prepared();
    expect(statements).toContain('SELECT count(*)::int AS n FROM items');
    expect(statements).toContain('WITH i AS (SELECT id FROM items) SELECT min(id) AS id FROM i');
    expect(statements).not.toContain('SELECT 1 AS one; SELECT 2 AS two');
    expect(statements).not.toContain('SELECT * FROM items WHERE id = $1');
    expect(statements).not.toContain('SELECT * FROM items');
    // Named or not, a read answers the same through the callback form as well.
    const viaCallback = await new Promise<unknown[]>((resolve, reject) =>
      pool.query('SELECT count(*)::int AS n FROM items', (error, result) =>
        error ? reject(error) : resolve(result.rows),
      ),
    );
    expect(viaCallback).toEqual([{ n: 2 }]);
  });

  it('a `*` read keeps working in a transaction when a migration adds a column', async () => {
    const text = 'SELECT * FROM items WHERE id = $1';
    await often(() => inTransaction(pool, (transaction) => transaction.query(text, ['a'])));
    await pool.query('ALTER TABLE items ADD COLUMN note text');
    const rows = await inTransaction(
      pool,
      async (transaction) => (await transaction.query(text, ['a'])).rows,
    );
    expect(rows).toEqual([{ id: 'a', quantity: 1, note: null }]);
  });

  it('asks again, unnamed, a statement outside a transaction whose result type a migration changed', async () => {
    const text = 'SELECT quantity AS q FROM items WHERE id = $1';
    expect(await often(() => pool.query(text, ['b']))).toEqual([{ q: 2 }]);
    expect(await prepared()).toContain(text);
    await pool.query('ALTER TABLE items ALTER COLUMN quantity TYPE text USING quantity::text');
    // A string: the answer has the new type, from a fresh parse.
    expect((await pool.query(text, ['b'])).rows).toEqual([{ q: '2' }]);
    expect(await prepared()).toContain(text);
    // Unnamed from now on: the same text again is not refused.
    expect((await pool.query(text, ['b'])).rows).toEqual([{ q: '2' }]);
  });

  it('fails the one transaction that ran such a statement; the next one succeeds', async () => {
    const text = 'SELECT quantity AS q FROM items WHERE id = $1 AND $2::int > 0';
    await often(() => inTransaction(pool, (transaction) => transaction.query(text, ['a', 10])));
    await pool.query('ALTER TABLE items ALTER COLUMN quantity TYPE int USING quantity::int');
    await expect(inTransaction(pool, (transaction) => transaction.query(text, ['a', 10]))).rejects.toThrow(
      /cached plan must not change result type/,
    );
    const rows = await inTransaction(
      pool,
      async (transaction) => (await transaction.query(text, ['a', 10])).rows,
    );
    expect(rows).toEqual([{ q: 1 }]);
  });
});
