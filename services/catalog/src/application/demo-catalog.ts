import type { Category } from '../domain/category.ts';
import type { NewProduct } from '../domain/product.ts';
import type { CatalogService } from './catalog-service.ts';
import type { CatalogStore } from './catalog-store.port.ts';

const lines: Record<string, { name: string; prefix: string; items: string[]; styles: string[] }> = {
  apparel: {
    name: 'Apparel',
    prefix: 'APP',
    items: ['Merino T-Shirt', 'Rain Jacket', 'Wool Socks', 'Canvas Trousers'],
    styles: ['Classic', 'Trail', 'Urban'],
  },
  footwear: {
    name: 'Footwear',
    prefix: 'FTW',
    items: ['Running Shoe', 'Hiking Boot', 'Leather Sneaker'],
    styles: ['Classic', 'Trail', 'Urban'],
  },
  kitchen: {
    name: 'Kitchen',
    prefix: 'KIT',
    items: ['Chef Knife', 'Cast Iron Pan', 'Pour-Over Kettle', 'Oak Cutting Board'],
    styles: ['Home', 'Pro', 'Travel'],
  },
  electronics: {
    name: 'Electronics',
    prefix: 'ELE',
    items: ['Noise-Cancelling Headphones', 'USB-C Charger', 'Mechanical Keyboard', 'Portable Speaker'],
    styles: ['Lite', 'Pro', 'Max'],
  },
  outdoor: {
    name: 'Outdoor',
    prefix: 'OUT',
    items: ['Two-Person Tent', 'Down Sleeping Bag', 'Trekking Poles'],
    styles: ['Ultralight', 'Expedition', 'Family'],
  },
  books: {
    name: 'Books',
    prefix: 'BOK',
    items: ['Field Guide to Birds', 'Sourdough Handbook', 'Distributed Systems Primer'],
    styles: ['Paperback', 'Hardcover', 'Illustrated'],
  },
};

export const demoCategories: Category[] = Object.entries(lines).map(([slug, line]) => ({
  slug,
  name: line.name,
}));

/** 63 products over six categories, with stable SKUs so seeding twice adds nothing. */
export const demoProducts: NewProduct[] = Object.entries(lines).flatMap(([slug, line]) =>
  line.items.flatMap((item, itemIndex) =>
    line.styles.map((style, styleIndex) => ({
      sku: `${line.prefix}-${String(itemIndex * 10 + styleIndex + 1).padStart(4, '0')}`,
      name: `${style} ${item}`,
      description: `${style} edition of our ${item.toLowerCase()}, part of the ${line.name.toLowerCase()} range.`,
      categorySlug: slug,
    })),
  ),
);

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
      if (!(error instanceof Error && 'code' in error && error.code === 'CATALOG.DUPLICATE_SKU')) throw error;
    }
  }
  return created;
}
