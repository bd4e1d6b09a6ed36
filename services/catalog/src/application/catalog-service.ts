import type { IdGenerator } from '@mercato/chassis';
import { type Category, createCategory } from '../domain/category.ts';
import { createProduct, type NewProduct, type Product } from '../domain/product.ts';
import type { Page } from '../domain/product-search.ts';
import { catalogErrors } from './catalog-errors.ts';
import { productCreatedMessage } from './catalog-messages.ts';
import type { CatalogStore, ProductQuery } from './catalog-store.port.ts';

export interface CatalogDependencies {
  store: CatalogStore;
  newId: IdGenerator;
  now: () => Date;
  /** The correlation id of the request being served, carried into the messages it causes. */
  correlationId: () => string;
}

/** The catalog's use cases. Throws AppErrors with stable codes for expected failures. */
export function catalogService({ store, newId, now, correlationId }: CatalogDependencies) {
  return {
    async createProduct(input: NewProduct): Promise<Product> {
      const created = createProduct(input, newId('prd'), now());
      if (!created.ok) throw catalogErrors.rejectedProduct(created.error);
      const { product, events } = created.value;
      const messages = events.map((event) => productCreatedMessage(event, correlationId()));
      const outcome = await store.insertProduct(product, messages);
      if (outcome === 'duplicate_sku') throw catalogErrors.duplicateSku(product.sku);
      if (outcome === 'unknown_category') throw catalogErrors.unknownCategory(product.categorySlug);
      return product;
    },

    async getProduct(id: string): Promise<Product> {
      const product = await store.findProduct(id);
      if (!product) throw catalogErrors.productNotFound(id);
      return product;
    },

    listProducts: (query: ProductQuery): Promise<Page<Product>> => store.listProducts(query),

    async createCategory(input: Category): Promise<Category> {
      const created = createCategory(input);
      if (!created.ok) throw catalogErrors.rejectedCategory(created.error);
      await store.upsertCategory(created.value);
      return created.value;
    },

    listCategories: (): Promise<Category[]> => store.listCategories(),
  };
}

export type CatalogService = ReturnType<typeof catalogService>;
