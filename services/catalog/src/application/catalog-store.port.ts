import type { OutboxEntry } from '@mercato/chassis';
import type { Category } from '../domain/category.ts';
import type { Product } from '../domain/product.ts';
import type { Page, PageRequest } from '../domain/product-search.ts';

export interface ProductQuery extends PageRequest {
  text?: string;
  categorySlug?: string;
}

/** Where the catalog keeps products and categories. */
export interface CatalogStore {
  /**
   * Inserts a product and, in the same transaction, the messages announcing it; resolves
   * `duplicate_sku` or `unknown_category` (writing nothing) instead of throwing.
   */
  insertProduct(
    product: Product,
    messages: OutboxEntry[],
  ): Promise<'inserted' | 'duplicate_sku' | 'unknown_category'>;
  findProduct(id: string): Promise<Product | undefined>;
  listProducts(query: ProductQuery): Promise<Page<Product>>;
  upsertCategory(category: Category): Promise<void>;
  listCategories(): Promise<Category[]>;
  countProducts(): Promise<number>;
}
