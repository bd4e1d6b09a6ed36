import { fail, ok, type Result } from '@mercato/chassis/result';

export interface QuoteItem {
  sku: string;
  quantity: number;
}

export interface Price {
  sku: string;
  amountMinor: number;
  currency: string;
}

interface DiscountBase {
  id: string;
  description: string;
  /** Limits the discount to one SKU, or to one category; neither means every product. */
  sku?: string | undefined;
  category?: string | undefined;
  /** Limits the discount to customers of a segment. */
  segment?: string | undefined;
}

export type Discount = DiscountBase &
  (
    | { kind: 'percentage'; basisPoints: number }
    | { kind: 'fixed_amount'; amountMinor: number }
    | { kind: 'buy_x_get_y'; buy: number; free: number }
  );

export interface AppliedDiscount {
  discountId: string;
  description: string;
  amountMinor: number;
}

export interface QuoteLine {
  sku: string;
  quantity: number;
  unitPriceMinor: number;
  subtotalMinor: number;
  discountMinor: number;
  totalMinor: number;
  discounts: AppliedDiscount[];
}

export interface Quote {
  currency: string;
  lines: QuoteLine[];
  subtotalMinor: number;
  discountMinor: number;
  totalMinor: number;
}

export type QuoteRejection =
  | { reason: 'unpriced'; skus: string[] }
  | { reason: 'mixed_currencies'; currencies: string[] };

export interface QuoteInput {
  items: readonly QuoteItem[];
  prices: ReadonlyMap<string, Price>;
  categories: ReadonlyMap<string, string>;
  discounts: readonly Discount[];
  /** The customer's segment, when known. */
  segment?: string | undefined;
}

/** What a discount takes off a line; never more than the line costs. */
export function discountAmount(discount: Discount, unitPriceMinor: number, quantity: number): number {
  const subtotal = unitPriceMinor * quantity;
  switch (discount.kind) {
    case 'percentage':
      // Rounded down: the shop never gives away a fraction of a cent more than it promised.
      return Math.floor((subtotal * discount.basisPoints) / 10_000);
    case 'fixed_amount':
      return Math.min(subtotal, discount.amountMinor * quantity);
    case 'buy_x_get_y': {
      const freeUnits = Math.floor(quantity / (discount.buy + discount.free)) * discount.free;
      return freeUnits * unitPriceMinor;
    }
  }
}

const applies = (
  discount: Discount,
  sku: string,
  category: string | undefined,
  segment: string | undefined,
) =>
  (discount.sku === undefined || discount.sku === sku) &&
  (discount.category === undefined || discount.category === category) &&
  (discount.segment === undefined || discount.segment === segment);

/**
 * Prices a basket. Lines for the same SKU are merged; each line gets the single best discount
 * that applies to it (discounts do not stack), so the total never goes below zero.
 */
export function calculateQuote(input: QuoteInput): Result<Quote, QuoteRejection> {
  const quantities = new Map<string, number>();
  for (const item of input.items) quantities.set(item.sku, (quantities.get(item.sku) ?? 0) + item.quantity);

  const unpriced = [...quantities.keys()].filter((sku) => !input.prices.has(sku));
  if (unpriced.length > 0) return fail({ reason: 'unpriced', skus: unpriced });
  const currencies = [...new Set([...quantities.keys()].map((sku) => input.prices.get(sku)?.currency ?? ''))];
  if (currencies.length > 1) return fail({ reason: 'mixed_currencies', currencies });

  const lines = [...quantities].map(([sku, quantity]): QuoteLine => {
    const unitPriceMinor = input.prices.get(sku)?.amountMinor ?? 0;
    const subtotalMinor = unitPriceMinor * quantity;
    const best = input.discounts
      .filter((discount) => applies(discount, sku, input.categories.get(sku), input.segment))
      .map((discount) => ({ discount, amount: discountAmount(discount, unitPriceMinor, quantity) }))
      .filter(({ amount }) => amount > 0)
      .sort((a, b) => b.amount - a.amount || a.discount.id.localeCompare(b.discount.id))[0];
    const discounts = best
      ? [{ discountId: best.discount.id, description: best.discount.description, amountMinor: best.amount }]
      : [];
    const discountMinor = best?.amount ?? 0;
    return {
      sku,
      quantity,
      unitPriceMinor,
      subtotalMinor,
      discountMinor,
      totalMinor: subtotalMinor - discountMinor,
      discounts,
    };
  });

  const sum = (pick: (line: QuoteLine) => number) => lines.reduce((total, line) => total + pick(line), 0);
  return ok({
    currency: currencies[0] ?? 'EUR',
    lines,
    subtotalMinor: sum((line) => line.subtotalMinor),
    discountMinor: sum((line) => line.discountMinor),
    totalMinor: sum((line) => line.totalMinor),
  });
}
