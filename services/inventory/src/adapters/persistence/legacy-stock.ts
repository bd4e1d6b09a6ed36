import type { OutboxEntry, Pool, Transaction } from '@mercato/chassis';
import { compareLogPositions, legacyKeyOf } from '@mercato/contracts';
import { inventoryErrors } from '../../application/inventory-errors.ts';
import { notifyStock } from './stock-channel.ts';

/** The warehouse the monolith's shelf is, in stock reads and, once orders moved, in reservations. */
export const LEGACY_WAREHOUSE = 'legacy';

/** Who takes orders of the monolith's products, and since which position of its log. */
export interface LegacyOrdersOwner {
  /**
   * `moving`: the monolith gave orders up; its shelf is taken once its last changes are applied.
   * `returning`: inventory gave the shelf back; the monolith takes orders once it has it.
   */
  owner: 'monolith' | 'moving' | 'services' | 'returning';
  lsn: string | undefined;
  /** Set while the monolith retires or is retired: the shelf is never given back. */
  retiredAt: Date | undefined;
  /** The monolith did retire: the mark stays. */
  retiredForGood: boolean;
}

/**
 * Held until the transaction ends (FOR SHARE): taking the shelf over (`takeShelf`) waits for the
 * changes being applied, and they for it. `unlocked` reads the row as committed and holds nothing.
 */
async function ordersOwner(
  transaction: Transaction,
  lock: 'FOR SHARE' | 'FOR UPDATE' | 'unlocked',
): Promise<LegacyOrdersOwner> {
  const { rows } = await transaction.query<{
    owner: LegacyOrdersOwner['owner'];
    lsn: string | null;
    retired_at: Date | null;
    retired_for_good: boolean;
  }>(
    `SELECT owner, lsn::text AS lsn, retired_at, retired_for_good FROM legacy_capabilities WHERE name = 'orders' ${lock === 'unlocked' ? '' : lock}`,
  );
  return {
    owner: rows[0]?.owner ?? 'monolith',
    lsn: rows[0]?.lsn ?? undefined,
    retiredAt: rows[0]?.retired_at ?? undefined,
    retiredForGood: rows[0]?.retired_for_good ?? false,
  };
}

/** The copy's row of a product, locked until the transaction ends. */
async function held(
  transaction: Transaction,
  productId: string,
): Promise<{ sku: string | null; quantity: number | null } | undefined> {
  const { rows } = await transaction.query<{ sku: string | null; quantity: number | null }>(
    'SELECT sku, quantity FROM legacy_stock WHERE product_id = $1 FOR UPDATE',
    [productId],
  );
  return rows[0];
}

/** Whether a change at `lsn` was made on a shelf inventory owns (after the monolith gave orders up). */
const afterTheMove = (owner: LegacyOrdersOwner, lsn: string) =>
  owner.owner === 'services' && owner.lsn !== undefined && compareLogPositions(lsn, owner.lsn) > 0;

/**
 * The monolith's stock as inventory follows it, inside the consumer's transaction. Each write applies
 * only over an older position of its own column, and announces the SKU on the stock channel, so an
 * open stock stream sees the monolith's shelf move too. Once orders moved, the shelf is inventory's
 * (stock levels in the warehouse `legacy`): what the monolith changes on its own shelf after that —
 * the stock of an order it took, cancelled — is added to (or, taken off by hand there, taken from)
 * inventory's level, never below 0.
 */
export const legacyStock = {
  ordersOwner: (transaction: Transaction) => ordersOwner(transaction, 'FOR SHARE'),
  /** The owner as committed now, without holding its row: `markMoving` may then update it. */
  ordersOwnerUnlocked: (transaction: Transaction) => ordersOwner(transaction, 'unlocked'),

  /**
   * The monolith gave orders up and inventory waits for its last stock changes: said at once, on its
   * own (the consumer's transaction rolls back to be delivered again), so a reservation short of the
   * shelf meanwhile waits instead of failing (INVENTORY.STOCK_MOVING).
   */
  async markMoving(pool: Pool): Promise<void> {
    await pool.query(
      "UPDATE legacy_capabilities SET owner = 'moving' WHERE name = 'orders' AND owner = 'monolith'",
    );
  },

  /** A product's SKU as of the commit at `lsn`. */
  async recordSku(transaction: Transaction, productId: string, sku: string, lsn: string): Promise<void> {
    const owner = await ordersOwner(transaction, 'FOR SHARE');
    const previous = await held(transaction, productId);
    const { rows } = await transaction.query<{ sku: string; quantity: number | null }>(
      `INSERT INTO legacy_stock (product_id, sku, sku_lsn) VALUES ($1, $2, $3)
       ON CONFLICT (product_id) DO UPDATE SET sku = $2, sku_lsn = $3
         WHERE legacy_stock.sku_lsn IS NULL OR legacy_stock.sku_lsn < $3
       RETURNING sku, quantity`,
      [productId, sku, lsn],
    );
    const row = rows[0];
    if (!row) return;
    // A product the monolith added after orders moved: its shelf is inventory's from the start.
    if (afterTheMove(owner, lsn) && row.quantity !== null)
      await transaction.query(
        `INSERT INTO stock_levels (sku, warehouse_id, available) VALUES ($1, $2, $3)
         ON CONFLICT (sku, warehouse_id) DO NOTHING`,
        [row.sku, LEGACY_WAREHOUSE, Math.max(row.quantity, 0)],
      );
    await notifyStock(transaction, [
      row.sku,
      ...(previous?.sku && previous.sku !== row.sku ? [previous.sku] : []),
    ]);
  },

  /** A product's quantity on the monolith's shelf as of the commit at `lsn`. */
  async recordQuantity(
    transaction: Transaction,
    productId: string,
    quantity: number,
    lsn: string,
  ): Promise<void> {
    const owner = await ordersOwner(transaction, 'FOR SHARE');
    const previous = await held(transaction, productId);
    const { rows } = await transaction.query<{ sku: string | null }>(
      `INSERT INTO legacy_stock (product_id, quantity, quantity_lsn) VALUES ($1, $2, $3)
       ON CONFLICT (product_id) DO UPDATE SET quantity = $2, quantity_lsn = $3
         WHERE legacy_stock.quantity_lsn IS NULL OR legacy_stock.quantity_lsn < $3
       RETURNING sku`,
      [productId, quantity, lsn],
    );
    const row = rows[0];
    if (!row?.sku) return;
    const change = quantity - (previous?.quantity ?? 0);
    if (afterTheMove(owner, lsn) && change !== 0)
      await transaction.query(
        `INSERT INTO stock_levels (sku, warehouse_id, available) VALUES ($1, $2, greatest($3::integer, 0))
         ON CONFLICT (sku, warehouse_id) DO UPDATE SET available = greatest(stock_levels.available + $3, 0)`,
        [row.sku, LEGACY_WAREHOUSE, change],
      );
    await notifyStock(transaction, [row.sku]);
  },

  /**
   * The monolith gave new orders up at `lsn`: its shelf becomes inventory's stock in the warehouse
   * `legacy`, as the copy has it (every change committed before the move is applied: the caller
   * waited for them). Returns the SKUs and units taken; nothing when it was taken already.
   */
  async takeShelf(
    transaction: Transaction,
    lsn: string,
  ): Promise<{ skus: number; units: number } | undefined> {
    const owner = await ordersOwner(transaction, 'FOR UPDATE');
    if (owner.owner === 'services') return undefined;
    await transaction.query(
      `INSERT INTO warehouses (id, name) VALUES ($1, 'The legacy shop''s shelf') ON CONFLICT (id) DO NOTHING`,
      [LEGACY_WAREHOUSE],
    );
    const { rows } = await transaction.query<{ sku: string; available: number }>(
      `INSERT INTO stock_levels (sku, warehouse_id, available)
       SELECT sku, $1, greatest(quantity, 0) FROM legacy_stock WHERE sku IS NOT NULL AND quantity IS NOT NULL
       ON CONFLICT (sku, warehouse_id) DO UPDATE SET available = EXCLUDED.available
       RETURNING sku, available`,
      [LEGACY_WAREHOUSE],
    );
    await transaction.query(
      "UPDATE legacy_capabilities SET owner = 'services', lsn = $1 WHERE name = 'orders'",
      [lsn],
    );
    // Announced by stock_levels' own trigger.
    return { skus: rows.length, units: rows.reduce((sum, row) => sum + row.available, 0) };
  },

  /**
   * Gives the monolith's shelf back (phase 3 for orders undone): waits for the reservations in flight
   * holding its stock levels, empties them, and says what to add to the monolith's shelf — what is
   * there less what the copy says the monolith has (a change of its own not seen yet is on its shelf
   * already) — in `message(lines)`, appended in the same transaction. Returns the owner after; only
   * `services` changes.
   */
  async handBack(
    transaction: Transaction,
    message: (lines: ShelfLine[]) => OutboxEntry,
    append: (entries: OutboxEntry[]) => Promise<void>,
  ): Promise<LegacyOrdersOwner['owner']> {
    const owner = await ordersOwner(transaction, 'FOR UPDATE');
    if (owner.owner !== 'services') return owner.owner;
    if (owner.retiredAt !== undefined) throw inventoryErrors.monolithRetired();
    const { rows } = await transaction.query<{
      sku: string;
      available: number;
      product_id: string;
      quantity: number;
    }>(
      `SELECT s.sku, s.available, l.product_id, coalesce(l.quantity, 0) AS quantity
       FROM stock_levels AS s JOIN legacy_stock AS l ON l.sku = s.sku
       WHERE s.warehouse_id = $1 ORDER BY s.sku FOR UPDATE OF s`,
      [LEGACY_WAREHOUSE],
    );
    // Only the levels whose stock goes back: one with no product of the monolith keeps what it has.
    await transaction.query(
      'UPDATE stock_levels SET available = 0 WHERE warehouse_id = $1 AND sku = ANY($2::text[])',
      [LEGACY_WAREHOUSE, rows.map((row) => row.sku)],
    );
    await transaction.query("UPDATE legacy_capabilities SET owner = 'returning' WHERE name = 'orders'");
    await append([
      message(shelfLines(rows.map((row) => ({ ...row, quantity: row.available - row.quantity })))),
    ]);
    // Announced by stock_levels' own trigger.
    return 'returning';
  },

  /**
   * Marks (or, the monolith having refused, unmarks) the monolith's retirement, once inventory takes
   * its orders: a hand-back is refused while marked. Held like a hand-back (the owner's row FOR
   * UPDATE), so one of the two waits for the other. Throws while orders are not the services'.
   */
  async markRetired(
    transaction: Transaction,
    retired: boolean,
    forGood: boolean,
  ): Promise<{ retiredAt: Date | undefined; forGood: boolean }> {
    const owner = await ordersOwner(transaction, 'FOR UPDATE');
    if (owner.owner !== 'services') throw inventoryErrors.ordersNotMoved(owner.owner);
    // The mark of a monolith that did retire is never taken back.
    if (!retired && owner.retiredForGood) throw inventoryErrors.monolithRetired();
    const { rows } = await transaction.query<{ retired_at: Date | null; retired_for_good: boolean }>(
      `UPDATE legacy_capabilities SET retired_at = CASE WHEN $1 THEN coalesce(retired_at, now()) END,
         retired_for_good = retired_for_good OR $2
       WHERE name = 'orders' RETURNING retired_at, retired_for_good`,
      [retired, retired && forGood],
    );
    return { retiredAt: rows[0]?.retired_at ?? undefined, forGood: rows[0]?.retired_for_good ?? false };
  },

  /**
   * Before a reservation's stock moves: when any of it is in the warehouse `legacy`, who takes orders
   * is held first (FOR SHARE), in the order `handBack` takes the two (owner, then levels), so the two
   * wait for each other rather than deadlock.
   */
  async holdOwnerFor(
    transaction: Transaction,
    allocations: ReadonlyArray<{ warehouseId: string }>,
  ): Promise<void> {
    if (allocations.some((allocation) => allocation.warehouseId === LEGACY_WAREHOUSE))
      await ordersOwner(transaction, 'FOR SHARE');
  },

  /**
   * Stock that came back to the warehouse `legacy` (a reservation released) while the shelf is not
   * inventory's is the monolith's: taken off again and given to it, in the same transaction. Nothing
   * when the shelf is inventory's or none came back there.
   */
  async returnStranded(
    transaction: Transaction,
    allocations: ReadonlyArray<{ sku: string; warehouseId: string; quantity: number }>,
    message: (lines: ShelfLine[]) => OutboxEntry,
    append: (entries: OutboxEntry[]) => Promise<void>,
  ): Promise<void> {
    const stranded = allocations.filter((allocation) => allocation.warehouseId === LEGACY_WAREHOUSE);
    if (stranded.length === 0) return;
    if ((await ordersOwner(transaction, 'FOR SHARE')).owner === 'services') return;
    const { rows } = await transaction.query<{ sku: string; product_id: string }>(
      'SELECT DISTINCT ON (sku) sku, product_id FROM legacy_stock WHERE sku = ANY($1::text[]) ORDER BY sku, product_id',
      [stranded.map((allocation) => allocation.sku)],
    );
    const products = new Map(rows.map((row) => [row.sku, row.product_id]));
    const lines = stranded.flatMap((allocation) => {
      const productId = products.get(allocation.sku);
      return productId ? [{ sku: allocation.sku, product_id: productId, quantity: allocation.quantity }] : [];
    });
    await transaction.query(
      `UPDATE stock_levels AS s SET available = greatest(s.available - m.quantity, 0)
       FROM unnest($1::text[], $2::int[]) AS m (sku, quantity)
       WHERE s.sku = m.sku AND s.warehouse_id = $3`,
      [lines.map((line) => line.sku), lines.map((line) => line.quantity), LEGACY_WAREHOUSE],
    );
    if (lines.length > 0) await append([message(shelfLines(lines))]);
  },

  /** The monolith took orders back at `lsn` (it applied every stock inventory gave it). */
  async recordTakenBack(transaction: Transaction, lsn: string): Promise<boolean> {
    const { rowCount } = await transaction.query(
      "UPDATE legacy_capabilities SET owner = 'monolith', lsn = $1 WHERE name = 'orders' AND owner = 'returning'",
      [lsn],
    );
    return (rowCount ?? 0) > 0;
  },
};

/** What to add to the monolith's shelf for one of its products (its key, not the services' id). */
export interface ShelfLine {
  productId: string;
  sku: string;
  quantity: number;
}

const shelfLines = (
  rows: ReadonlyArray<{ sku: string; product_id: string; quantity: number }>,
): ShelfLine[] =>
  rows.flatMap((row) => {
    const key = legacyKeyOf(row.product_id);
    return key !== undefined && row.quantity !== 0
      ? [{ productId: key, sku: row.sku, quantity: row.quantity }]
      : [];
  });
