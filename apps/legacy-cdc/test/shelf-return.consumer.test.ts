import { fileURLToPath } from 'node:url';
import { createLogger, createPool, inTransaction, migrate, type Pool } from '@mercato/chassis';
import { createTestDatabase, probePostgres, suiteTitle, waitForRowLockWait } from '@mercato/chassis/testing';
import { createEnvelope, legacyShelfReturned } from '@mercato/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shelfReturnConsumer } from '../src/shelf-return.consumer.ts';

const postgres = await probePostgres();
const legacyMigrations = fileURLToPath(new URL('../../legacy/migrations', import.meta.url));

/**
 * The shelf given back to the monolith, on the monolith's own schema (its migrations, seeded): the
 * machine's PostgreSQL is enough here, nothing is captured.
 */
describe.skipIf(!postgres.available)(suiteTitle('stock given back to the monolith', postgres), () => {
  const logger = createLogger({ service: 'test', level: 'silent' });
  let monolith: Pool;
  let drop: () => Promise<void>;

  const shelfOf = async (productId: number): Promise<number> =>
    (
      await monolith.query<{ quantity: number }>('SELECT quantity FROM stock WHERE product_id = $1', [
        productId,
      ])
    ).rows[0]?.quantity ?? -1;
  const giveBack = (transferId: string, lines: { product_id: string; quantity: number }[]) => {
    const { handler } = shelfReturnConsumer(monolith);
    if (!handler) throw new Error('the shelf return consumer has no handler');
    const message = createEnvelope({
      contract: legacyShelfReturned,
      data: {
        transfer_id: transferId,
        hand_back: false,
        lines: lines.map((line) => ({ ...line, sku: `LEG-${line.product_id.padStart(4, '0')}` })),
      },
      source: 'inventory',
      correlationId: transferId,
    });
    // The handler writes to the monolith in a transaction of its own; the one it is handed (the
    // consumer's inbox, in the capture's database) is not touched.
    return inTransaction(monolith, (unused) => handler(message, unused));
  };

  beforeAll(async () => {
    const database = await createTestDatabase('legacy_shelf_return');
    drop = database.drop;
    monolith = createPool({ url: database.url, max: 4, applicationName: 'test' }, logger);
    await migrate(monolith, legacyMigrations, logger);
  });
  afterAll(async () => {
    await monolith?.end();
    await drop?.();
  });

  it('adds each line once under its transfer id, never below 0', async () => {
    const [one, two] = [await shelfOf(1), await shelfOf(2)];
    await giveBack('transfer-once', [
      { product_id: '1', quantity: 5 },
      { product_id: '2', quantity: -(two + 10) },
    ]);
    await giveBack('transfer-once', [{ product_id: '1', quantity: 5 }]);
    expect([await shelfOf(1), await shelfOf(2)]).toEqual([one + 5, 0]);
  });

  it('locks the shelf in product order, as an order placed does: the two never deadlock', async () => {
    // Product 1's row written again: a scan of the table now meets product 2's row before it, the
    // reverse of the order every transaction of the monolith's locks them in. With the table's
    // statistics known (as autovacuum would have them), the planner joins a transfer's lines to the
    // table by scanning it: the lock order is the table's unless the statement imposes one.
    await monolith.query('UPDATE stock SET updated_at = updated_at WHERE product_id = 1');
    await monolith.query('ANALYZE stock');
    const [one, two] = [await shelfOf(1), await shelfOf(2)];
    const placing = await monolith.connect();
    try {
      // An order of products 1 and 2, half-way: it holds product 1's row and is about to lock 2's.
      await placing.query('BEGIN');
      await placing.query('SELECT 1 FROM stock WHERE product_id = 1 FOR UPDATE');
      const returning = giveBack('transfer-lock-order', [
        { product_id: '1', quantity: 3 },
        { product_id: '2', quantity: 4 },
      ]);
      returning.catch(() => undefined); // awaited below; a deadlock fails it while the order waits
      await waitForRowLockWait(monolith, 'the transfer waiting for a row lock');
      // Waiting for product 1, the transfer must hold nothing of product 2's yet: the order takes it
      // at once (with product 2 locked first, the two deadlock and one fails with 40P01).
      await placing.query('SELECT 1 FROM stock WHERE product_id = 2 FOR UPDATE');
      await placing.query('COMMIT');
      await returning;
    } finally {
      placing.release();
    }
    expect([await shelfOf(1), await shelfOf(2)]).toEqual([one + 3, two + 4]);
  });
});
