import { fileURLToPath } from 'node:url';
import {
  createLogger,
  createPool,
  isAppError,
  MESSAGING_MIGRATIONS_TABLE,
  messagingMigrations,
  migrate,
  Outbox,
  type Pool,
} from '@mercato/chassis';
import { createTestDatabase, probePostgres, suiteTitle, waitForRowLockWait } from '@mercato/chassis/testing';
import { inventoryEvents, MessageRegistry } from '@mercato/contracts';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresInventory } from '../src/adapters/persistence/postgres-inventory.ts';

const postgres = await probePostgres();
const logger = createLogger({ service: 'test', level: 'silent' });
const initial = [
  { sku: 'SKU-A', warehouse: 'w1', available: 6 },
  { sku: 'SKU-A', warehouse: 'w2', available: 3 },
  { sku: 'SKU-B', warehouse: 'w1', available: 2 },
  { sku: 'SKU-B', warehouse: 'w2', available: 2 },
];
const ids = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'];

type Operation =
  | { op: 'reserve'; id: string; lines: Array<{ sku: string; quantity: number }>; ttlSeconds: number }
  | { op: 'release' | 'commit'; id: string }
  | { op: 'expire' };

const operation: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({
    op: fc.constant('reserve' as const),
    id: fc.constantFrom(...ids),
    lines: fc.array(
      fc.record({ sku: fc.constantFrom('SKU-A', 'SKU-B'), quantity: fc.integer({ min: 1, max: 5 }) }),
      {
        minLength: 1,
        maxLength: 3,
      },
    ),
    ttlSeconds: fc.integer({ min: 1, max: 30 }),
  }),
  fc.record({ op: fc.constantFrom('release' as const, 'commit' as const), id: fc.constantFrom(...ids) }),
  fc.constant({ op: 'expire' as const }),
);
/** A round: some operations run concurrently, then the clock moves on. */
const round = fc.record({
  concurrent: fc.array(operation, { minLength: 1, maxLength: 6 }),
  advanceSeconds: fc.nat(20),
});

describe.skipIf(!postgres.available)(
  suiteTitle('inventory under concurrent reserve/release/expire', postgres),
  () => {
    let pool: Pool;
    let drop: () => Promise<void>;
    const clock = { now: new Date('2026-11-24T10:00:00Z') };

    beforeAll(async () => {
      const database = await createTestDatabase('inventory_property');
      drop = database.drop;
      pool = createPool({ url: database.url, max: 8, applicationName: 'property' }, logger);
      await migrate(pool, fileURLToPath(new URL('../migrations', import.meta.url)), logger);
      await migrate(pool, messagingMigrations, logger, MESSAGING_MIGRATIONS_TABLE);
      await pool.query("INSERT INTO warehouses (id, name) VALUES ('w1', 'One'), ('w2', 'Two')");
    });
    afterAll(async () => {
      await pool?.end();
      await drop?.();
    });

    /** The adapter on the suite's database and clock. */
    const inventoryOn = (correlationId: string) =>
      new PostgresInventory({
        pool,
        outbox: new Outbox(new MessageRegistry(inventoryEvents)),
        now: () => clock.now,
        correlationId: () => correlationId,
      });

    const reset = async () => {
      await pool.query('TRUNCATE reservation_allocations, reservations, stock_levels, mercato_outbox');
      await pool.query(
        'INSERT INTO stock_levels (sku, warehouse_id, available) SELECT * FROM unnest($1::text[], $2::text[], $3::int[])',
        [initial.map((l) => l.sku), initial.map((l) => l.warehouse), initial.map((l) => l.available)],
      );
    };

    const checkInvariants = async () => {
      const { rows: levels } = await pool.query<{
        sku: string;
        warehouse_id: string;
        available: number;
        reserved: number;
      }>('SELECT sku, warehouse_id, available, reserved FROM stock_levels');
      const { rows: held } = await pool.query<{
        sku: string;
        warehouse_id: string;
        status: string;
        quantity: number;
      }>(
        `SELECT a.sku, a.warehouse_id, r.status, sum(a.quantity)::int AS quantity
       FROM reservation_allocations a JOIN reservations r ON r.id = a.reservation_id
       GROUP BY 1, 2, 3`,
      );
      for (const start of initial) {
        const level = levels.find((l) => l.sku === start.sku && l.warehouse_id === start.warehouse);
        const sum = (status: string) =>
          held.find((h) => h.sku === start.sku && h.warehouse_id === start.warehouse && h.status === status)
            ?.quantity ?? 0;
        expect(level?.available).toBeGreaterThanOrEqual(0);
        // Held stock is exactly what active reservations hold; nothing is created or lost.
        expect(level?.reserved).toBe(sum('active'));
        expect((level?.available ?? 0) + (level?.reserved ?? 0) + sum('committed')).toBe(start.available);
      }
    };

    it('never oversells, never loses stock, and never lets a reservation outlive its TTL', async () => {
      const inventory = inventoryOn('corr_property');
      await fc.assert(
        fc.asyncProperty(fc.array(round, { minLength: 1, maxLength: 6 }), async (rounds) => {
          await reset();
          clock.now = new Date('2026-11-24T10:00:00Z');
          for (const { concurrent, advanceSeconds } of rounds) {
            await Promise.all(
              concurrent.map(async (operation) => {
                try {
                  switch (operation.op) {
                    case 'reserve':
                      return await inventory.reserve({
                        reservationId: operation.id,
                        lines: operation.lines,
                        ttlSeconds: operation.ttlSeconds,
                      });
                    case 'release':
                      return await inventory.release(operation.id);
                    case 'commit':
                      return await inventory.commit(operation.id);
                    case 'expire':
                      return await inventory.expireDue();
                  }
                } catch (error) {
                  // Expected refusals (short stock, unknown or finished reservation) are AppErrors;
                  // anything else, such as a violated CHECK or a deadlock, fails the property.
                  if (isAppError(error) && error.kind !== 'internal') return error;
                  throw error;
                }
              }),
            );
            await checkInvariants();

            clock.now = new Date(clock.now.getTime() + advanceSeconds * 1000);
            await inventory.expireDue();
            const { rows } = await pool.query<{ n: number }>(
              "SELECT count(*)::int AS n FROM reservations WHERE status = 'active' AND expires_at <= $1",
              [clock.now],
            );
            expect(rows[0]?.n).toBe(0);
            await checkInvariants();
          }
        }),
        { numRuns: 40 },
      );
    }, 120_000);

    it('locks stock rows in (sku, warehouse) order when it releases, as a reserve does: the two never deadlock', async () => {
      await reset();
      const inventory = inventoryOn('corr_lock_order');
      await inventory.reserve({
        reservationId: 'lock-order',
        lines: [
          { sku: 'SKU-A', quantity: 1 },
          { sku: 'SKU-B', quantity: 1 },
        ],
        ttlSeconds: 600,
      });
      // SKU-A's rows written again: a scan of this four-row table now meets SKU-B's first, the
      // reverse of the order a reserve locks them in.
      await pool.query("UPDATE stock_levels SET low_threshold = low_threshold WHERE sku = 'SKU-A'");
      // With the table's statistics known (as autovacuum would have them), the planner joins a
      // release's allocations to it by scanning it: the lock order is the table's unless the
      // statement imposes one.
      await pool.query('ANALYZE stock_levels');
      const reserver = await pool.connect();
      try {
        // A reserve of both SKUs, half-way: it holds SKU-A's rows and is about to lock SKU-B's.
        await reserver.query('BEGIN');
        await reserver.query(
          "SELECT 1 FROM stock_levels WHERE sku = 'SKU-A' ORDER BY warehouse_id FOR UPDATE",
        );
        const releasing = inventory.release('lock-order');
        releasing.catch(() => undefined); // awaited below; a deadlock fails it while the reserve waits
        await waitForRowLockWait(pool, 'the release waiting for a row lock');
        // Waiting for SKU-A, the release must hold nothing of SKU-B's yet: the reserve takes them at
        // once (with SKU-B locked first, the two deadlock and one fails with 40P01).
        await reserver.query(
          "SELECT 1 FROM stock_levels WHERE sku = 'SKU-B' ORDER BY warehouse_id FOR UPDATE",
        );
        await reserver.query('COMMIT');
        expect((await releasing).status).toBe('released');
      } finally {
        reserver.release();
      }
    });
  },
);
