import type { Pool } from '@mercato/chassis';
import { legacyErrors } from './legacy-errors.ts';
import type { ProductJson } from './legacy-schemas.ts';

interface ProductRow {
  id: number;
  sku: string;
  name: string;
  price_cents: number;
  quantity: number;
  updated_at: Date;
}

// A product without a stock row (none in the seed) shows as none in stock.
const SELECT = `SELECT p.id, p.sku, p.name, p.price_cents, coalesce(s.quantity, 0) AS quantity, p.updated_at
                FROM products AS p LEFT JOIN stock AS s ON s.product_id = p.id`;

const productJson = (row: ProductRow): ProductJson => ({
  id: row.id,
  sku: row.sku,
  name: row.name,
  priceCents: row.price_cents,
  stockQuantity: row.quantity,
  updatedAt: row.updated_at.toISOString(),
});

/** The monolith's products with what is in stock: a catalogue small enough to list whole. */
export class LegacyProducts {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async list(): Promise<ProductJson[]> {
    const { rows } = await this.#pool.query<ProductRow>(`${SELECT} ORDER BY p.id`);
    return rows.map(productJson);
  }

  async find(id: number): Promise<ProductJson> {
    const { rows } = await this.#pool.query<ProductRow>(`${SELECT} WHERE p.id = $1`, [id]);
    if (!rows[0]) throw legacyErrors.notFound('Product', id);
    return productJson(rows[0]);
  }
}
