import { AppError } from '@mercato/chassis';
import { describe, expect, it } from 'vitest';
import { InMemoryCatalogStore } from '../adapters/persistence/in-memory-catalog-store.ts';
import { catalogService } from './catalog-service.ts';
import { demoProducts, seedDemoCatalog } from './demo-catalog.ts';

const setup = () => {
  const store = new InMemoryCatalogStore();
  let next = 0;
  const catalog = catalogService({
    store,
    newId: (prefix) => `${prefix}_${++next}`,
    now: () => new Date(0),
    correlationId: () => 'corr_test',
  });
  return { store, catalog };
};

const codeOf = async (promise: Promise<unknown>): Promise<string> => {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppError) return `${error.status} ${error.code}`;
    throw error;
  }
  throw new Error('expected an AppError');
};

describe('catalogService', () => {
  it('creates and reads back a product', async () => {
    const { catalog } = setup();
    await catalog.createCategory({ slug: 'kitchen', name: 'Kitchen' });
    const product = await catalog.createProduct({
      sku: 'KIT-1',
      name: 'Pan',
      description: '',
      categorySlug: 'kitchen',
    });
    expect(await catalog.getProduct(product.id)).toEqual(product);
  });

  it('announces a new product as product.created, correlated with the request', async () => {
    const { catalog, store } = setup();
    await catalog.createCategory({ slug: 'kitchen', name: 'Kitchen' });
    const product = await catalog.createProduct({
      sku: 'KIT-1',
      name: 'Pan',
      description: '',
      categorySlug: 'kitchen',
    });
    expect(store.published).toHaveLength(1);
    expect(store.published[0]).toMatchObject({
      kind: 'topic',
      destination: 'product.created',
      key: product.id,
      envelope: {
        event_type: 'product.created',
        event_version: '1.1',
        source: 'catalog',
        correlation_id: 'corr_test',
        data: { product_id: product.id, sku: 'KIT-1', name: 'Pan', slug: 'pan', category: 'kitchen' },
      },
    });
  });

  it('turns expected failures into coded errors', async () => {
    const { catalog } = setup();
    await catalog.createCategory({ slug: 'kitchen', name: 'Kitchen' });
    const pan = { sku: 'KIT-1', name: 'Pan', description: '', categorySlug: 'kitchen' };
    await catalog.createProduct(pan);
    expect(await codeOf(catalog.createProduct(pan))).toBe('409 CATALOG.DUPLICATE_SKU');
    expect(await codeOf(catalog.createProduct({ ...pan, sku: 'KIT-2', categorySlug: 'garden' }))).toBe(
      '400 CATALOG.UNKNOWN_CATEGORY',
    );
    expect(await codeOf(catalog.createProduct({ ...pan, sku: '!' }))).toBe('400 REQUEST.INVALID');
    expect(await codeOf(catalog.getProduct('prd_missing'))).toBe('404 CATALOG.PRODUCT_NOT_FOUND');
    expect(await codeOf(catalog.createCategory({ slug: 'Bad Slug', name: 'x' }))).toBe('400 REQUEST.INVALID');
  });

  it('seeds the demo shop once', async () => {
    const { catalog, store } = setup();
    expect(await seedDemoCatalog(catalog, store)).toBe(demoProducts.length);
    expect(demoProducts.length).toBeGreaterThanOrEqual(50);
    expect(await seedDemoCatalog(catalog, store)).toBe(0);
    expect(await store.countProducts()).toBe(demoProducts.length);
  });
});
