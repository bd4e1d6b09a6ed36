import type { Pool } from '@mercato/chassis';
import { demoProducts, demoWarehouses } from '@mercato/demo-shop';

/** Seeds the demo warehouses and stock on an empty inventory; an inventory with stock is left alone. */
export async function seedDemoStock(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM stock_levels');
  if ((rows[0]?.n ?? 0) > 0) return 0;
  await pool.query(
    `INSERT INTO warehouses (id, name) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING`,
    [demoWarehouses, ['Berlin', 'Lyon']],
  );
  const levels = demoProducts.flatMap((product) =>
    demoWarehouses.map((warehouse) => ({ sku: product.sku, warehouse, available: product.stock[warehouse] })),
  );
  await pool.query(
    `INSERT INTO stock_levels (sku, warehouse_id, available)
     SELECT * FROM unnest($1::text[], $2::text[], $3::int[]) ON CONFLICT DO NOTHING`,
    [levels.map((l) => l.sku), levels.map((l) => l.warehouse), levels.map((l) => l.available)],
  );
  return levels.length;
}
