import type { OutboxEntry } from '@mercato/chassis';
import { describe, expect, it } from 'vitest';
import { productCreatedMessage } from '../../application/catalog-messages.ts';
import type { CatalogStore } from '../../application/catalog-store.port.ts';
import type { Product } from '../../domain/product.ts';

const at = new Date('2026-01-15T10:30:00.000Z');

const product = (
  id: string,
  sku: string,
  name: string,
  categorySlug = 'kitchen',
  description = '',
): Product => ({
  id,
  sku,
  name,
  description,
  categorySlug,
  createdAt: at,
  updatedAt: at,
});

export interface StoreUnderTest {
  store: CatalogStore;
  /** Ids of the messages the store has committed to its outbox, in order. */
  publishedIds: () => Promise<string[]>;
}

const announcement = (productId: string): OutboxEntry =>
  productCreatedMessage(
    {
      type: 'product.created',
      productId,
      sku: 'X',
      name: 'X',
      slug: 'x',
      categorySlug: 'kitchen',
      occurredAt: at,
    },
    'corr_contract',
  );

/** What every CatalogStore must do; run against the in-memory fake and against PostgreSQL. */
export function catalogStoreContract(
  adapter: string,
  makeStoreUnderTest: () => Promise<StoreUnderTest>,
): void {
  const makeStore = async () => (await makeStoreUnderTest()).store;
  describe(`CatalogStore contract: ${adapter}`, () => {
    const seeded = async () => {
      const store = await makeStore();
      await store.upsertCategory({ slug: 'kitchen', name: 'Kitchen' });
      await store.upsertCategory({ slug: 'books', name: 'Books' });
      await store.insertProduct(
        product('p1', 'KIT-0001', 'Cast Iron Pan', 'kitchen', 'heavy and seasoned'),
        [],
      );
      await store.insertProduct(product('p2', 'KIT-0002', 'Chef Knife'), []);
      await store.insertProduct(
        product('p3', 'BOK-0001', 'Sourdough Handbook', 'books', 'bread baking at home'),
        [],
      );
      return store;
    };

    it('stores and finds a product', async () => {
      const store = await seeded();
      expect(await store.findProduct('p1')).toEqual(
        product('p1', 'KIT-0001', 'Cast Iron Pan', 'kitchen', 'heavy and seasoned'),
      );
      expect(await store.findProduct('missing')).toBeUndefined();
      expect(await store.countProducts()).toBe(3);
    });

    it('refuses a duplicate SKU and an unknown category without throwing', async () => {
      const store = await seeded();
      expect(await store.insertProduct(product('p9', 'KIT-0001', 'Other Pan'), [])).toBe('duplicate_sku');
      expect(await store.insertProduct(product('p9', 'XYZ-0001', 'Thing', 'nowhere'), [])).toBe(
        'unknown_category',
      );
      expect(await store.countProducts()).toBe(3);
    });

    it('pages in name order with a total', async () => {
      const store = await seeded();
      const first = await store.listProducts({ page: 1, pageSize: 2 });
      expect(first.items.map((item) => item.name)).toEqual(['Cast Iron Pan', 'Chef Knife']);
      expect(first.total).toBe(3);
      const second = await store.listProducts({ page: 2, pageSize: 2 });
      expect(second.items.map((item) => item.name)).toEqual(['Sourdough Handbook']);
      const beyond = await store.listProducts({ page: 5, pageSize: 2 });
      expect(beyond).toMatchObject({ items: [], total: 3 });
    });

    it('searches names, SKUs and descriptions by word prefix', async () => {
      const store = await seeded();
      const names = async (text: string) =>
        (await store.listProducts({ text, page: 1, pageSize: 10 })).items.map((i) => i.id);
      expect(await names('sourd')).toEqual(['p3']);
      expect(await names('bread')).toEqual(['p3']);
      expect(await names('cast pan')).toEqual(['p1']);
      expect(await names('kit')).toEqual(['p1', 'p2']);
      expect(await names('nothing-like-it')).toEqual([]);
      expect(await names("'; DROP TABLE products; --")).toEqual([]);
      expect(await store.countProducts()).toBe(3);
    });

    it('filters by category', async () => {
      const store = await seeded();
      const page = await store.listProducts({ categorySlug: 'books', page: 1, pageSize: 10 });
      expect(page.items.map((item) => item.id)).toEqual(['p3']);
      expect(page.total).toBe(1);
    });

    it('commits a product and its messages together, and neither when refused', async () => {
      const { store, publishedIds } = await makeStoreUnderTest();
      await store.upsertCategory({ slug: 'kitchen', name: 'Kitchen' });
      const first = announcement('p1');
      expect(await store.insertProduct(product('p1', 'KIT-0001', 'Pan'), [first])).toBe('inserted');
      expect(await store.insertProduct(product('p2', 'KIT-0001', 'Same SKU'), [announcement('p2')])).toBe(
        'duplicate_sku',
      );
      expect(
        await store.insertProduct(product('p3', 'KIT-0003', 'Pot', 'garden'), [announcement('p3')]),
      ).toBe('unknown_category');
      expect(await publishedIds()).toEqual([first.envelope.event_id]);
    });

    it('lists categories by name and renames on upsert', async () => {
      const store = await seeded();
      await store.upsertCategory({ slug: 'books', name: 'Books & Guides' });
      expect(await store.listCategories()).toEqual([
        { slug: 'books', name: 'Books & Guides' },
        { slug: 'kitchen', name: 'Kitchen' },
      ]);
    });
  });
}
