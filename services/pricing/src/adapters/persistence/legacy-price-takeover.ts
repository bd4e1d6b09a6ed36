import type { Transaction } from '@mercato/chassis';

/** A product of the monolith as pricing last priced it. */
export interface PricedLegacyProduct {
  sku: string;
  lsn: string;
}

/** The monolith's list prices as pricing keeps them, inside the consumer's transaction. */
export const legacyPriceTakeover = {
  /** What the product's last applied change priced, locked until the transaction ends. */
  async heldForUpdate(transaction: Transaction, productId: string): Promise<PricedLegacyProduct | undefined> {
    const { rows } = await transaction.query<PricedLegacyProduct>(
      'SELECT sku, lsn::text AS lsn FROM legacy_prices WHERE product_id = $1 FOR UPDATE',
      [productId],
    );
    return rows[0];
  },

  /**
   * The product's price under its SKU; a SKU it priced before and no longer has loses its price (no
   * other product of the monolith can hold it: its SKUs are unique).
   */
  async save(
    transaction: Transaction,
    priced: { productId: string; sku: string; amountMinor: number; currency: string; updatedAt: Date },
    lsn: string,
    previousSku: string | undefined,
  ): Promise<void> {
    if (previousSku !== undefined && previousSku !== priced.sku)
      await transaction.query('DELETE FROM prices WHERE sku = $1', [previousSku]);
    await transaction.query(
      `INSERT INTO prices (sku, amount_minor, currency, updated_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (sku) DO UPDATE SET amount_minor = $2, currency = $3, updated_at = $4`,
      [priced.sku, priced.amountMinor, priced.currency, priced.updatedAt],
    );
    await transaction.query(
      `INSERT INTO legacy_prices (product_id, sku, lsn) VALUES ($1, $2, $3)
       ON CONFLICT (product_id) DO UPDATE SET sku = $2, lsn = $3`,
      [priced.productId, priced.sku, lsn],
    );
  },
};
