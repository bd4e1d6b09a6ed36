import type { OutboxEntry } from '@mercato/chassis';
import type { CatalogStore, ProductQuery } from '../../application/catalog-store.port.ts';
import type { Category } from '../../domain/category.ts';
import type { Product } from '../../domain/product.ts';
import { offsetOf, type Page, searchTerms } from '../../domain/product-search.ts';

/** The unit-test fake of `CatalogStore`; PostgresCatalogStore has the same contract test. */
export class InMemoryCatalogStore implements CatalogStore {
  readonly #products = new Map<string, Product>();
  readonly #categories = new Map<string, Category>();
  /** What a PostgreSQL store would have written to its outbox, in order. */
  readonly published: OutboxEntry[] = [];

  async insertProduct(
    product: Product,
    messages: OutboxEntry[] = [],
  ): Promise<'inserted' | 'duplicate_sku' | 'unknown_category'> {
    if ([...this.#products.values()].some((existing) => existing.sku === product.sku)) return 'duplicate_sku';
    if (!this.#categories.has(product.categorySlug)) return 'unknown_category';
    this.#products.set(product.id, product);
    this.published.push(...messages);
    return 'inserted';
  }

  async findProduct(id: string): Promise<Product | undefined> {
    return this.#products.get(id);
  }

  async listProducts(query: ProductQuery): Promise<Page<Product>> {
    const terms = searchTerms(query.text ?? '');
    const words = (product: Product) => searchTerms(`${product.name} ${product.sku} ${product.description}`);
    const matches = [...this.#products.values()]
      .filter((product) => !query.categorySlug || product.categorySlug === query.categorySlug)
      .filter((product) => terms.every((term) => words(product).some((word) => word.startsWith(term))))
      .sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
    const start = offsetOf(query);
    return {
      items: matches.slice(start, start + query.pageSize),
      page: query.page,
      pageSize: query.pageSize,
      total: matches.length,
    };
  }

  async upsertCategory(category: Category): Promise<void> {
    this.#categories.set(category.slug, category);
  }

  async listCategories(): Promise<Category[]> {
    return [...this.#categories.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  async countProducts(): Promise<number> {
    return this.#products.size;
  }
}
