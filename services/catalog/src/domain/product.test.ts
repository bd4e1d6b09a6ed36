import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createProduct } from './product.ts';
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
