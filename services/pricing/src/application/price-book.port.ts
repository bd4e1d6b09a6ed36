import type { Discount, Price } from '../domain/quote.ts';

/** The price list, the discounts and the category of each known SKU. */
export interface PriceBook {
  pricesFor(skus: readonly string[]): Promise<Map<string, Price>>;
  categoriesFor(skus: readonly string[]): Promise<Map<string, string>>;
  activeDiscounts(): Promise<Discount[]>;
  setPrices(prices: readonly Price[]): Promise<void>;
  addDiscounts(discounts: readonly Discount[]): Promise<void>;
  countPrices(): Promise<number>;
}
