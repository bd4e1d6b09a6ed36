import { inTransaction, type Outbox, type OutboxEntry, type Pool } from '@mercato/chassis';
import type { CatalogStore, ProductQuery } from '../../application/catalog-store.port.ts';
import type { Category } from '../../domain/category.ts';
import type { Product } from '../../domain/product.ts';
import { offsetOf, type Page, searchTerms } from '../../domain/product-search.ts';

/** A row of `products` as pg reads it. */
export interface ProductRow {
  id: string;
  sku: string;
  name: string;
  description: string;
  category_slug: string;
  created_at: Date;
  updated_at: Date;
}

export const toProduct = (row: ProductRow): Product => ({
  id: row.id,
  sku: row.sku,
  name: row.name,
  description: row.description,
  categorySlug: row.category_slug,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

const UNIQUE_VIOLATION = '23505';
const FOREIGN_KEY_VIOLATION = '23503';

const pgCode = (error: unknown): string | undefined =>
  typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;

export class PostgresCatalogStore implements CatalogStore {
  readonly #pool: Pool;
  readonly #outbox: Outbox;

  constructor(pool: Pool, outbox: Outbox) {
    this.#pool = pool;
    this.#outbox = outbox;
  }

  async insertProduct(
    product: Product,
    messages: OutboxEntry[],
  ): Promise<'inserted' | 'duplicate_sku' | 'unknown_category'> {
    try {
      // The row and its announcements commit together, or neither does (transactional outbox).
      await inTransaction(this.#pool, async (client) => {
        await client.query(
          `INSERT INTO products (id, sku, name, description, category_slug, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [
            product.id,
            product.sku,
            product.name,
            product.description,
            product.categorySlug,
            product.createdAt,
            product.updatedAt,
          ],
        );
        await this.#outbox.append(client, messages);
      });
      return 'inserted';
    } catch (error) {
      if (pgCode(error) === UNIQUE_VIOLATION) return 'duplicate_sku';
      if (pgCode(error) === FOREIGN_KEY_VIOLATION) return 'unknown_category';
      throw error;
    }
  }

  async findProduct(id: string): Promise<Product | undefined> {
    const { rows } = await this.#pool.query<ProductRow>('SELECT * FROM products WHERE id = $1', [id]);
    return rows[0] ? toProduct(rows[0]) : undefined;
  }

  async listProducts(query: ProductQuery): Promise<Page<Product>> {
    const terms = searchTerms(query.text ?? '');
    const tsquery = terms.length > 0 ? terms.map((term) => `${term}:*`).join(' & ') : null;
    // One statement returns the page and the total, so both see the same snapshot.
    const { rows } = await this.#pool.query<ProductRow & { total: number }>(
      `SELECT p.*, count(*) OVER () AS total
         FROM products p
        WHERE ($1::text IS NULL OR p.search @@ to_tsquery('simple', $1))
          AND ($2::text IS NULL OR p.category_slug = $2)
        ORDER BY CASE WHEN $1::text IS NULL THEN 0 ELSE ts_rank(p.search, to_tsquery('simple', $1)) END DESC,
                 p.name, p.id
        LIMIT $3 OFFSET $4`,
      [tsquery, query.categorySlug ?? null, query.pageSize, offsetOf(query)],
    );
    const total = rows[0]?.total ?? (query.page > 1 ? await this.#count(tsquery, query.categorySlug) : 0);
    return { items: rows.map(toProduct), page: query.page, pageSize: query.pageSize, total };
  }

  async #count(tsquery: string | null, categorySlug: string | undefined): Promise<number> {
    const { rows } = await this.#pool.query<{ total: number }>(
      `SELECT count(*) AS total FROM products p
        WHERE ($1::text IS NULL OR p.search @@ to_tsquery('simple', $1))
          AND ($2::text IS NULL OR p.category_slug = $2)`,
      [tsquery, categorySlug ?? null],
    );
    return rows[0]?.total ?? 0;
  }

  async upsertCategory(category: Category): Promise<void> {
    await this.#pool.query(
      'INSERT INTO categories (slug, name) VALUES ($1, $2) ON CONFLICT (slug) DO UPDATE SET name = EXCLUDED.name',
      [category.slug, category.name],
    );
  }

  async listCategories(): Promise<Category[]> {
    const { rows } = await this.#pool.query<Category>('SELECT slug, name FROM categories ORDER BY name');
    return rows;
  }

  async countProducts(): Promise<number> {
    const { rows } = await this.#pool.query<{ total: number }>('SELECT count(*) AS total FROM products');
    return rows[0]?.total ?? 0;
  }
}
