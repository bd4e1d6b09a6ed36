import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createProduct, productSlug } from './product.ts';
import { searchTerms } from './product-search.ts';

const now = new Date('2026-01-15T10:30:00Z');
const input = { sku: 'kit-0001', name: '  Chef Knife ', description: 'sharp', categorySlug: 'kitchen' };

describe('createProduct', () => {
  it('normalises SKU and name and returns product.created', () => {
    const created = createProduct(input, 'prd_1', now);
    expect(created.ok).toBe(true);
    if (!created.ok) return;
    expect(created.value.product).toMatchObject({
      id: 'prd_1',
      sku: 'KIT-0001',
      name: 'Chef Knife',
      createdAt: now,
    });
    expect(created.value.events).toEqual([
      {
        type: 'product.created',
        productId: 'prd_1',
        sku: 'KIT-0001',
        name: 'Chef Knife',
        slug: 'chef-knife',
        categorySlug: 'kitchen',
        occurredAt: now,
      },
    ]);
  });

  it.each([
    [{ sku: 'a' }, 'invalid_sku'],
    [{ sku: 'HAS SPACE' }, 'invalid_sku'],
    [{ name: '   ' }, 'invalid_name'],
    [{ name: 'x'.repeat(201) }, 'invalid_name'],
    [{ description: 'x'.repeat(2001) }, 'description_too_long'],
  ])('rejects %j as %s', (change, reason) => {
    const created = createProduct({ ...input, ...change }, 'prd_1', now);
    expect(created).toMatchObject({ ok: false, error: { reason } });
  });
});

describe('searchTerms', () => {
  it('splits free text into lowercase words', () => {
    expect(searchTerms('Cast-Iron  PAN!')).toEqual(['cast', 'iron', 'pan']);
  });

  it('only ever yields letters and digits, so terms are safe in a tsquery', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        const terms = searchTerms(text);
        expect(terms.length).toBeLessThanOrEqual(8);
        for (const term of terms) expect(term).toMatch(/^[\p{L}\p{N}]+$/u);
      }),
    );
  });
});

describe('productSlug', () => {
  it('turns a name into a URL path segment', () => {
    expect(productSlug({ name: 'Classic Canvas Trousers', sku: 'APP-0031' })).toBe('classic-canvas-trousers');
    expect(productSlug({ name: '  Crème brûlée — 2 pots! ', sku: 'KIT-1' })).toBe('creme-brulee-2-pots');
    expect(productSlug({ name: '★★★', sku: 'KIT-0001' })).toBe('kit-0001');
  });

  it('is always lower-case letters and digits joined by single dashes, at most 80 long', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (name) => {
        const slug = productSlug({ name, sku: 'SKU-1' });
        expect(slug).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
        expect(slug.length).toBeLessThanOrEqual(80);
      }),
    );
  });
});
