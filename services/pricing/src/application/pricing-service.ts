import { AppError, type Logger } from '@mercato/chassis';
import { calculateQuote, type Quote, type QuoteItem } from '../domain/quote.ts';
import type { QuoteEngine } from './discount-engine.ts';
import type { PriceBook } from './price-book.port.ts';

/** How pricing learns a customer's segment (the customer service, over gRPC). */
export type SegmentLookup = (customerId: string) => Promise<string>;

export interface PricedQuote extends Quote {
  customerSegment: string;
  segmentUnavailable: boolean;
}

export function pricingService(
  book: PriceBook,
  segmentOf: SegmentLookup,
  logger: Logger,
  engine: QuoteEngine = (input) => calculateQuote(input),
) {
  return {
    async quote(items: readonly QuoteItem[], customerId: string | undefined): Promise<PricedQuote> {
      const skus = [...new Set(items.map((item) => item.sku))];
      const [prices, categories, discounts, segment] = await Promise.all([
        book.pricesFor(skus),
        book.categoriesFor(skus),
        book.activeDiscounts(),
        customerId ? segmentWithFallback(segmentOf, customerId, logger) : Promise.resolve(undefined),
      ]);
      const result = engine({ items, prices, categories, discounts, segment: segment?.segment }, customerId);
      if (!result.ok) {
        throw result.error.reason === 'unpriced'
          ? new AppError({
              code: 'PRICING.UNPRICED_SKU',
              kind: 'validation',
              message: `No price for ${result.error.skus.join(', ')}`,
              details: {
                errors: result.error.skus.map((sku) => ({
                  field: 'items.sku',
                  message: `no price for ${sku}`,
                })),
              },
            })
          : new AppError({
              code: 'PRICING.MIXED_CURRENCIES',
              kind: 'conflict',
              message: `The basket mixes currencies ${result.error.currencies.join(', ')}`,
            });
      }
      return {
        ...result.value,
        customerSegment: segment?.segment ?? '',
        segmentUnavailable: segment?.unavailable ?? false,
      };
    },
  };
}

/**
 * A quote must not fail because the customer service is down: without the segment, only
 * discounts open to everyone apply, and the quote says so. An unknown customer is still an error.
 */
async function segmentWithFallback(
  segmentOf: SegmentLookup,
  customerId: string,
  logger: Logger,
): Promise<{ segment: string | undefined; unavailable: boolean }> {
  try {
    return { segment: await segmentOf(customerId), unavailable: false };
  } catch (error) {
    if (error instanceof AppError && (error.kind === 'not_found' || error.kind === 'validation')) throw error;
    logger.warn({ err: error, customer_id: customerId }, 'customer segment unavailable; quoting without it');
    return { segment: undefined, unavailable: true };
  }
}

export type PricingService = ReturnType<typeof pricingService>;
