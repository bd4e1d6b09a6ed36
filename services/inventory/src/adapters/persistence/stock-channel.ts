import type { PoolClient } from '@mercato/chassis';

/**
 * Every committed change to stock levels NOTIFYs this channel with the SKUs it touched (a JSON
 * array). The table's own triggers send it for every change to `stock_levels` (migration
 * `stock-levels-notify`: no writer can forget, none spends a round trip on it); `notifyStock` is for
 * what else changes a stock read (the monolith's shelf, a product's SKU there).
 */
export const STOCK_CHANNEL = 'inventory_stock_levels';

/** A notification's payload is at most 8,000 bytes: SKUs (at most 32 characters) go 200 at a time. */
const SKUS_PER_NOTIFICATION = 200;

/** Announces, on commit of `client`'s transaction, that these SKUs' levels changed (not `stock_levels`'). */
export async function notifyStock(client: PoolClient, skus: readonly string[]): Promise<void> {
  for (let start = 0; start < skus.length; start += SKUS_PER_NOTIFICATION)
    await client.query('SELECT pg_notify($1, $2)', [
      STOCK_CHANNEL,
      JSON.stringify(skus.slice(start, start + SKUS_PER_NOTIFICATION)),
    ]);
}
