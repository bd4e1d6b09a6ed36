import { ok, type Result } from '@mercato/chassis/result';
import { createProduct, type Product, type ProductCreated, type ProductRejection } from './product.ts';

/** The category the monolith's products are filed under (it had none). */
export const LEGACY_CATEGORY = 'legacy';
export const LEGACY_CATEGORY_NAME = 'From the legacy shop';

/** A product row of the monolith as the catalog takes it: its id already mapped (`prd_legacy_<id>`). */
export interface LegacyProductRow {
  id: string;
  sku: string;
  name: string;
  updatedAt: Date;
}

/**
 * A product of the monolith taken over, or updated from its next captured change. Checked as any
 * product the catalog creates (a SKU or name it could not hold is refused, not stored half-right);
 * announced with `product.created` the first time only (pricing files it under its category, as it
 * does every product). The monolith has no creation time: a product is created when first seen, at
 * the monolith's `updated_at`; its description stays the catalog's (the monolith has none).
 */
export function takenOverProduct(
  existing: Product | undefined,
  row: LegacyProductRow,
): Result<{ product: Product; events: ProductCreated[] }, ProductRejection> {
  const created = createProduct(
    { sku: row.sku, name: row.name, description: existing?.description ?? '', categorySlug: LEGACY_CATEGORY },
    row.id,
    row.updatedAt,
  );
  if (!created.ok) return created;
  if (!existing) return created;
  const { sku, name } = created.value.product;
  return ok({ product: { ...existing, sku, name, updatedAt: row.updatedAt }, events: [] });
}
