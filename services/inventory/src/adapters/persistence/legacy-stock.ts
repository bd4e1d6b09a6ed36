import type { Transaction } from '@mercato/chassis';
import { compareLogPositions } from '@mercato/contracts';
import { STOCK_CHANNEL } from './stock-channel.ts';

/** The warehouse the monolith's shelf is, in stock reads and, once orders moved, in reservations. */
export const LEGACY_WAREHOUSE = 'legacy';

/** Who takes orders of the monolith's products, and since which position of its log. */
export interface LegacyOrdersOwner {
  /** `moving`: the monolith gave orders up; its shelf is taken once its last changes are applied. */
  owner: 'monolith' | 'moving' | 'services';
  lsn: string | undefined;
}

/**
 * Held until the transaction ends (FOR SHARE): taking the shelf over (`takeShelf`) waits for the
 * changes being applied, and they for it.
 */
async function ordersOwner(
  transaction: Transaction,
  lock: 'FOR SHARE' | 'FOR UPDATE',
): Promise<LegacyOrdersOwner> {
  const { rows } = await transaction.query<{ owner: LegacyOrdersOwner['owner']; lsn: string | null }>(
    `SELECT owner, lsn::text AS lsn FROM legacy_capabilities WHERE name = 'orders' ${lock}`,
  );
  return { owner: rows[0]?.owner ?? 'monolith', lsn: rows[0]?.lsn ?? undefined };
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
    await notify(transaction, [
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
    await notify(transaction, [row.sku]);
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
    await notify(
      transaction,
      rows.map((row) => row.sku),
    );
    return { skus: rows.length, units: rows.reduce((sum, row) => sum + row.available, 0) };
  },
};

/** A notification's payload is at most 8,000 bytes: SKUs (at most 32 characters) go 200 at a time. */
async function notify(transaction: Transaction, skus: readonly string[]): Promise<void> {
  for (let start = 0; start < skus.length; start += 200)
    await transaction.query('SELECT pg_notify($1, $2)', [
      STOCK_CHANNEL,
      JSON.stringify(skus.slice(start, start + 200)),
    ]);
}
