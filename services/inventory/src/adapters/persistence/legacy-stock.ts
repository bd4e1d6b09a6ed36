import type { Transaction } from '@mercato/chassis';
import { STOCK_CHANNEL } from './stock-channel.ts';

/** The warehouse the monolith's shelf shows as in stock reads. */
export const LEGACY_WAREHOUSE = 'legacy';

/**
 * The monolith's stock as inventory follows it, inside the consumer's transaction. Each write applies
 * only over an older position of its own column, and announces the SKU on the stock channel, so an
 * open stock stream sees the monolith's shelf move too.
 */
export const legacyStock = {
  /** A product's SKU as of the commit at `lsn`. */
  async recordSku(transaction: Transaction, productId: string, sku: string, lsn: string): Promise<void> {
    const { rows } = await transaction.query<{ previous: string | null; sku: string }>(
      `WITH previous AS (SELECT sku FROM legacy_stock WHERE product_id = $1 FOR UPDATE)
       INSERT INTO legacy_stock (product_id, sku, sku_lsn) VALUES ($1, $2, $3)
       ON CONFLICT (product_id) DO UPDATE SET sku = $2, sku_lsn = $3
         WHERE legacy_stock.sku_lsn IS NULL OR legacy_stock.sku_lsn < $3
       RETURNING (SELECT sku FROM previous) AS previous, sku`,
      [productId, sku, lsn],
    );
    const row = rows[0];
    if (row)
      await notify(transaction, [
        row.sku,
        ...(row.previous && row.previous !== row.sku ? [row.previous] : []),
      ]);
  },

  /** A product's quantity on the monolith's shelf as of the commit at `lsn`. */
  async recordQuantity(
    transaction: Transaction,
    productId: string,
    quantity: number,
    lsn: string,
  ): Promise<void> {
    const { rows } = await transaction.query<{ sku: string | null }>(
      `INSERT INTO legacy_stock (product_id, quantity, quantity_lsn) VALUES ($1, $2, $3)
       ON CONFLICT (product_id) DO UPDATE SET quantity = $2, quantity_lsn = $3
         WHERE legacy_stock.quantity_lsn IS NULL OR legacy_stock.quantity_lsn < $3
       RETURNING sku`,
      [productId, quantity, lsn],
    );
    const sku = rows[0]?.sku;
    if (sku) await notify(transaction, [sku]);
  },
};

const notify = (transaction: Transaction, skus: readonly string[]) =>
  transaction.query('SELECT pg_notify($1, $2)', [STOCK_CHANNEL, JSON.stringify(skus)]);
