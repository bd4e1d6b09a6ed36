import { demoCurrency, demoDiscounts, demoProducts } from '@mercato/demo-shop';
import type { Discount } from '../domain/quote.ts';
import type { PriceBook } from './price-book.port.ts';

/** Seeds the demo price list and discounts on an empty price book. */
export async function seedDemoPrices(book: PriceBook): Promise<number> {
  if ((await book.countPrices()) > 0) return 0;
  await book.setPrices(
    demoProducts.map((p) => ({ sku: p.sku, amountMinor: p.priceMinor, currency: demoCurrency })),
  );
  await book.addDiscounts(
    demoDiscounts.map((d): Discount => {
      const scope = {
        id: d.id,
        description: d.description,
        sku: d.sku,
        category: d.category,
        segment: d.segment,
      };
      if (d.kind === 'percentage') return { ...scope, kind: d.kind, basisPoints: d.basisPoints ?? 0 };
      if (d.kind === 'fixed_amount') return { ...scope, kind: d.kind, amountMinor: d.amountMinor ?? 0 };
      return { ...scope, kind: d.kind, buy: d.buy ?? 1, free: d.free ?? 1 };
    }),
  );
  return demoProducts.length;
}
