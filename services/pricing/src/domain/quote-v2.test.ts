import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { calculateQuote, type Discount, type Price, type QuoteInput } from './quote.ts';
import { calculateQuoteV2 } from './quote-v2.ts';

const skus = ['BOOK', 'TENT', 'CABLE', 'MUG', 'LAMP'] as const;
const categoryNames = ['books', 'outdoor', 'kitchen'] as const;
const segments = ['member', 'vip', 'standard'] as const;

const scope = fc.record(
  {
    sku: fc.constantFrom(...skus),
    category: fc.constantFrom(...categoryNames),
    segment: fc.constantFrom(...segments),
  },
  { requiredKeys: [] },
);
const kind = fc.oneof(
  fc.record({ kind: fc.constant('percentage' as const), basisPoints: fc.integer({ min: 0, max: 10_000 }) }),
  fc.record({ kind: fc.constant('fixed_amount' as const), amountMinor: fc.integer({ min: 0, max: 5_000 }) }),
  fc.record({
    kind: fc.constant('buy_x_get_y' as const),
    buy: fc.integer({ min: 1, max: 4 }),
    free: fc.integer({ min: 1, max: 2 }),
  }),
);
/** Discounts with unique ids (the price book's primary key), some equal in amount to test the tie-break. */
const discountList = fc
  .uniqueArray(fc.stringMatching(/^[a-z][a-z0-9-]{0,9}$/), { maxLength: 8 })
  .chain((ids) =>
    fc.tuple(
      ...ids.map((id) =>
        fc.tuple(scope, kind).map(([where, how]) => ({ id, description: id, ...where, ...how }) as Discount),
      ),
    ),
  );
const quoteInput: fc.Arbitrary<QuoteInput> = fc.record({
  items: fc.array(fc.record({ sku: fc.constantFrom(...skus), quantity: fc.integer({ min: 1, max: 12 }) }), {
    minLength: 1,
    maxLength: 6,
  }),
  prices: fc
    .tuple(
      fc.subarray([...skus], { minLength: 3 }),
      fc.array(fc.integer({ min: 0, max: 50_000 }), { minLength: 5, maxLength: 5 }),
      fc.constantFrom('EUR', 'EUR', 'EUR', 'USD'),
    )
    .map(
      ([priced, amounts, odd]) =>
        new Map<string, Price>(
          priced.map((sku, at) => [
            sku,
            { sku, amountMinor: amounts[at] ?? 0, currency: at === 4 ? odd : 'EUR' },
          ]),
        ),
    ),
  categories: fc
    .array(fc.constantFrom(...categoryNames), { minLength: 5, maxLength: 5 })
    .map((names) => new Map(skus.map((sku, at) => [sku, names[at] ?? 'books']))),
  discounts: discountList,
  segment: fc.option(fc.constantFrom(...segments), { nil: undefined }),
});

describe('calculateQuoteV2 (the rewritten discount engine)', () => {
  it('answers exactly as v1 does, rejections included, over 1,000 random baskets and price books', () => {
    fc.assert(
      fc.property(quoteInput, (input) => {
        expect(calculateQuoteV2(input)).toEqual(calculateQuote(input));
      }),
      { numRuns: 1_000 },
    );
  });
});
