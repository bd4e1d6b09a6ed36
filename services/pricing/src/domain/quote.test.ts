import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { calculateQuote, type Discount, discountAmount, type Price } from './quote.ts';

const prices = new Map<string, Price>([
  ['BOOK', { sku: 'BOOK', amountMinor: 1_900, currency: 'EUR' }],
  ['TENT', { sku: 'TENT', amountMinor: 12_900, currency: 'EUR' }],
  ['CABLE', { sku: 'CABLE', amountMinor: 300, currency: 'EUR' }],
]);
const categories = new Map([
  ['BOOK', 'books'],
  ['TENT', 'outdoor'],
  ['CABLE', 'electronics'],
]);
const discounts: Discount[] = [
  { id: 'books-3for2', description: '3 for 2', kind: 'buy_x_get_y', buy: 2, free: 1, category: 'books' },
  { id: 'outdoor-10', description: '10 %', kind: 'percentage', basisPoints: 1_000, category: 'outdoor' },
  { id: 'cable-5', description: '5.00 off', kind: 'fixed_amount', amountMinor: 500, sku: 'CABLE' },
  { id: 'members-15', description: 'members', kind: 'percentage', basisPoints: 1_500, segment: 'member' },
];

describe('calculateQuote', () => {
  it('applies each kind of discount in integer minor units', () => {
    const result = calculateQuote({
      items: [
        { sku: 'BOOK', quantity: 3 },
        { sku: 'TENT', quantity: 1 },
        { sku: 'CABLE', quantity: 2 },
      ],
      prices,
      categories,
      discounts,
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const [book, tent, cable] = result.value.lines;
    expect(book).toMatchObject({ subtotalMinor: 5_700, discountMinor: 1_900, totalMinor: 3_800 });
    expect(tent).toMatchObject({ subtotalMinor: 12_900, discountMinor: 1_290, totalMinor: 11_610 });
    // A fixed amount never takes a line below zero.
    expect(cable).toMatchObject({ subtotalMinor: 600, discountMinor: 600, totalMinor: 0 });
    expect(result.value).toMatchObject({
      currency: 'EUR',
      subtotalMinor: 19_200,
      discountMinor: 3_790,
      totalMinor: 15_410,
    });
  });

  it('gives a member the better of the member and the category discount, not both', () => {
    const result = calculateQuote({
      items: [{ sku: 'TENT', quantity: 1 }],
      prices,
      categories,
      discounts,
      segment: 'member',
    });
    expect(result.ok && result.value.lines[0]?.discounts).toEqual([
      { discountId: 'members-15', description: 'members', amountMinor: 1_935 },
    ]);
  });

  it('merges repeated SKUs before applying buy-x-get-y', () => {
    const result = calculateQuote({
      items: [
        { sku: 'BOOK', quantity: 1 },
        { sku: 'BOOK', quantity: 2 },
      ],
      prices,
      categories,
      discounts,
    });
    expect(result.ok && result.value.lines).toHaveLength(1);
    expect(result.ok && result.value.discountMinor).toBe(1_900);
  });

  it('refuses SKUs without a price', () => {
    expect(calculateQuote({ items: [{ sku: 'GHOST', quantity: 1 }], prices, categories, discounts })).toEqual(
      {
        ok: false,
        error: { reason: 'unpriced', skus: ['GHOST'] },
      },
    );
  });

  it('never discounts below zero or above the subtotal', () => {
    const discount = fc.oneof(
      fc.record({
        kind: fc.constant('percentage' as const),
        basisPoints: fc.integer({ min: 1, max: 10_000 }),
      }),
      fc.record({
        kind: fc.constant('fixed_amount' as const),
        amountMinor: fc.integer({ min: 1, max: 1_000_000 }),
      }),
      fc.record({
        kind: fc.constant('buy_x_get_y' as const),
        buy: fc.integer({ min: 1, max: 5 }),
        free: fc.integer({ min: 1, max: 5 }),
      }),
    );
    fc.assert(
      fc.property(
        discount,
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 1, max: 1_000 }),
        (d, price, quantity) => {
          const amount = discountAmount({ id: 'd', description: 'd', ...d }, price, quantity);
          expect(Number.isInteger(amount)).toBe(true);
          expect(amount).toBeGreaterThanOrEqual(0);
          expect(amount).toBeLessThanOrEqual(price * quantity);
        },
      ),
    );
  });
});
