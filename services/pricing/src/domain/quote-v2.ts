import { fail, ok, type Result } from '@mercato/chassis/result';
import {
  type Discount,
  discountAmount,
  type Quote,
  type QuoteInput,
  type QuoteLine,
  type QuoteRejection,
} from './quote.ts';

/** The discounts that can apply to a line, found by scope instead of tested one by one. */
interface DiscountIndex {
  bySku: Map<string, Discount[]>;
  byCategory: Map<string, Discount[]>;
  everywhere: Discount[];
}

function indexDiscounts(discounts: readonly Discount[], segment: string | undefined): DiscountIndex {
  const index: DiscountIndex = { bySku: new Map(), byCategory: new Map(), everywhere: [] };
  for (const discount of discounts) {
    if (discount.segment !== undefined && discount.segment !== segment) continue;
    if (discount.sku !== undefined) {
      const list = index.bySku.get(discount.sku) ?? [];
      list.push(discount);
      index.bySku.set(discount.sku, list);
    } else if (discount.category !== undefined) {
      const list = index.byCategory.get(discount.category) ?? [];
      list.push(discount);
      index.byCategory.set(discount.category, list);
    } else index.everywhere.push(discount);
  }
  return index;
}

/**
 * The discount engine rewritten (v2), beside `calculateQuote` (v1) until it is trusted: discounts
 * are indexed once per quote by what they are limited to (a SKU, a category, everything; a segment
 * not the customer's is dropped up front), and each line takes the best in one pass instead of
 * filtering and sorting the whole list. Its contract is v1's: the same lines in the same order, the
 * single best discount per line (ties to the lower id), the same rejections. Pricing runs it in
 * shadow against v1 (`PRICING_DISCOUNT_ENGINE`) before it answers for anyone.
 */
export function calculateQuoteV2(input: QuoteInput): Result<Quote, QuoteRejection> {
  const quantities = new Map<string, number>();
  for (const item of input.items) quantities.set(item.sku, (quantities.get(item.sku) ?? 0) + item.quantity);

  const unpriced: string[] = [];
  const currencies = new Set<string>();
  for (const sku of quantities.keys()) {
    const price = input.prices.get(sku);
    if (price === undefined) unpriced.push(sku);
    else currencies.add(price.currency);
  }
  if (unpriced.length > 0) return fail({ reason: 'unpriced', skus: unpriced });
  if (currencies.size > 1) return fail({ reason: 'mixed_currencies', currencies: [...currencies] });

  const index = indexDiscounts(input.discounts, input.segment);
  const lines: QuoteLine[] = [];
  let subtotalMinor = 0;
  let discountMinor = 0;
  for (const [sku, quantity] of quantities) {
    const unitPriceMinor = input.prices.get(sku)?.amountMinor ?? 0;
    const category = input.categories.get(sku);
    let best: { discount: Discount; amount: number } | undefined;
    for (const candidates of [
      index.bySku.get(sku),
      category === undefined ? undefined : index.byCategory.get(category),
      index.everywhere,
    ])
      for (const discount of candidates ?? []) {
        if (discount.category !== undefined && discount.category !== category) continue;
        const amount = discountAmount(discount, unitPriceMinor, quantity);
        if (!(amount > 0)) continue; // as v1: nothing, or not a number, is no discount
        if (
          !best ||
          amount > best.amount ||
          (amount === best.amount && discount.id.localeCompare(best.discount.id) < 0)
        )
          best = { discount, amount };
      }
    const lineSubtotal = unitPriceMinor * quantity;
    const lineDiscount = best?.amount ?? 0;
    lines.push({
      sku,
      quantity,
      unitPriceMinor,
      subtotalMinor: lineSubtotal,
      discountMinor: lineDiscount,
      totalMinor: lineSubtotal - lineDiscount,
      discounts: best
        ? [{ discountId: best.discount.id, description: best.discount.description, amountMinor: best.amount }]
        : [],
    });
    subtotalMinor += lineSubtotal;
    discountMinor += lineDiscount;
  }
  return ok({
    currency: [...currencies][0] ?? 'EUR',
    lines,
    subtotalMinor,
    discountMinor,
    totalMinor: subtotalMinor - discountMinor,
  });
}
