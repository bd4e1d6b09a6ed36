import type { Outbox, OutboxEntry, Transaction } from '@mercato/chassis';
import { LEGACY_CATEGORY, LEGACY_CATEGORY_NAME } from '../../domain/legacy-product.ts';
import type { Product } from '../../domain/product.ts';
import { type ProductRow, toProduct } from './postgres-catalog-store.ts';

type HeldRow = ProductRow & { lsn: string | null };

/** A product taken over from the monolith as held here, and the log position of its last change applied. */
export interface HeldLegacyProduct {
  product: Product | undefined;
  lsn: string | undefined;
}

/** Where the catalog keeps what it took over from the monolith, inside the consumer's transaction. */
export class LegacyProductTakeover {
  readonly #outbox: Outbox;

  constructor(outbox: Outbox) {
    this.#outbox = outbox;
  }

  /** The product and its last applied position, locked until the transaction ends. */
  async heldForUpdate(transaction: Transaction, id: string): Promise<HeldLegacyProduct> {
    const { rows } = await transaction.query<HeldRow>(
      `SELECT p.*, l.lsn::text AS lsn FROM products AS p LEFT JOIN legacy_products AS l ON l.product_id = p.id
       WHERE p.id = $1 FOR UPDATE OF p`,
      [id],
    );
    const row = rows[0];
    if (!row) return { product: undefined, lsn: undefined };
    return {
      product: toProduct(row),
      lsn: row.lsn ?? undefined,
    };
  }

  /** The id of another product holding `sku`, if one does (the catalog's SKUs are unique). */
  async holderOfSku(transaction: Transaction, sku: string, except: string): Promise<string | undefined> {
    const { rows } = await transaction.query<{ id: string }>(
      'SELECT id FROM products WHERE sku = $1 AND id <> $2',
      [sku, except],
    );
    return rows[0]?.id;
  }

  async save(
    transaction: Transaction,
    product: Product,
    lsn: string,
    messages: OutboxEntry[],
  ): Promise<void> {
    await transaction.query(
      'INSERT INTO categories (slug, name) VALUES ($1, $2) ON CONFLICT (slug) DO NOTHING',
      [LEGACY_CATEGORY, LEGACY_CATEGORY_NAME],
    );
    await transaction.query(
      `INSERT INTO products (id, sku, name, description, category_slug, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (id) DO UPDATE SET sku = $2, name = $3, updated_at = $7`,
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
    await transaction.query(
      `INSERT INTO legacy_products (product_id, lsn) VALUES ($1, $2)
       ON CONFLICT (product_id) DO UPDATE SET lsn = $2`,
      [product.id, lsn],
    );
    await this.#outbox.append(transaction, messages);
  }
}
