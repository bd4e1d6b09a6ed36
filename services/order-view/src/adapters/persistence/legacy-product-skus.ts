import type { Transaction } from '@mercato/chassis';

/**
 * The monolith's products by id, with their SKUs: its order lines name a product by id only, and a
 * summary's lines show SKUs (the monolith's own, `LEG-0001`, the form the catalog's take).
 */
export const LEGACY_SKUS_TABLE = 'legacy_product_skus';

/**
 * Put on the table by a generation built with it, from the start of the log. A generation built
 * before order-view read the monolith's changes gets the table without it (`legacy-history-upgrade.ts`):
 * it stepped over what the change capture had published, and must be rebuilt.
 */
export const FOLDED_FROM_START = 'order-view: the monolith orders folded from the start of the log';

export async function createLegacySkusTable(
  transaction: Transaction,
  schema: string,
  options: { fromStart: boolean },
): Promise<void> {
  await transaction.query(
    `CREATE TABLE IF NOT EXISTS ${schema}.${LEGACY_SKUS_TABLE} (product_id text PRIMARY KEY, sku text NOT NULL)`,
  );
  if (options.fromStart)
    await transaction.query(`COMMENT ON TABLE ${schema}.${LEGACY_SKUS_TABLE} IS '${FOLDED_FROM_START}'`);
}

export async function selectSkus(
  transaction: Transaction,
  schema: string,
  productIds: readonly string[],
): Promise<Map<string, string>> {
  if (productIds.length === 0) return new Map();
  const { rows } = await transaction.query<{ product_id: string; sku: string }>(
    `SELECT product_id, sku FROM ${schema}.${LEGACY_SKUS_TABLE} WHERE product_id = ANY($1::text[])`,
    [productIds],
  );
  return new Map(rows.map((row) => [row.product_id, row.sku]));
}

/** Writes what a batch changed: a SKU per product, null for a product deleted. */
export async function saveSkus(
  transaction: Transaction,
  schema: string,
  changed: ReadonlyMap<string, string | null>,
): Promise<void> {
  const kept = [...changed].filter((entry): entry is [string, string] => entry[1] !== null);
  const deleted = [...changed].filter(([, sku]) => sku === null).map(([productId]) => productId);
  if (kept.length > 0)
    await transaction.query(
      `INSERT INTO ${schema}.${LEGACY_SKUS_TABLE} (product_id, sku)
       SELECT * FROM unnest($1::text[], $2::text[])
       ON CONFLICT (product_id) DO UPDATE SET sku = EXCLUDED.sku`,
      [kept.map(([productId]) => productId), kept.map(([, sku]) => sku)],
    );
  if (deleted.length > 0)
    await transaction.query(`DELETE FROM ${schema}.${LEGACY_SKUS_TABLE} WHERE product_id = ANY($1::text[])`, [
      deleted,
    ]);
}
