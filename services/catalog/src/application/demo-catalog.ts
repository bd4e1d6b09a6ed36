import { isAppError } from '@mercato/chassis';
import { demoCategories as shopCategories, demoProducts as shopProducts } from '@mercato/demo-shop';
import type { Category } from '../domain/category.ts';
import type { NewProduct } from '../domain/product.ts';
import type { CatalogService } from './catalog-service.ts';
import type { CatalogStore } from './catalog-store.port.ts';

export const demoCategories: Category[] = shopCategories;

export const demoProducts: NewProduct[] = shopProducts.map(({ sku, name, description, categorySlug }) => ({
  sku,
  name,
  description,
  categorySlug,
}));

/** Seeds the demo shop on an empty catalog; a catalog with products is left alone. */
export async function seedDemoCatalog(catalog: CatalogService, store: CatalogStore): Promise<number> {
  if ((await store.countProducts()) > 0) return 0;
  for (const category of demoCategories) await catalog.createCategory(category);
  let created = 0;
  for (const product of demoProducts) {
    try {
      await catalog.createProduct(product);
      created += 1;
    } catch (error) {
      // Another replica seeding at the same time already created it.
      if (!(isAppError(error) && error.code === 'CATALOG.DUPLICATE_SKU')) throw error;
    }
  }
  return created;
}
