import type { PoolClient } from '@mercato/chassis';

/** Every committed change to stock levels NOTIFYs this channel with the SKUs it touched. */
export const STOCK_CHANNEL = 'inventory_stock_levels';

/** A notification's payload is at most 8,000 bytes: SKUs (at most 32 characters) go 200 at a time. */
const SKUS_PER_NOTIFICATION = 200;

/** Announces, on commit of `client`'s transaction, that these SKUs' levels changed. */
export async function notifyStock(client: PoolClient, skus: readonly string[]): Promise<void> {
  for (let start = 0; start < skus.length; start += SKUS_PER_NOTIFICATION)
    await client.query('SELECT pg_notify($1, $2)', [
      STOCK_CHANNEL,
      JSON.stringify(skus.slice(start, start + SKUS_PER_NOTIFICATION)),
    ]);
}
