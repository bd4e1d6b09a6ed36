import type { GrpcClient } from '@mercato/chassis';
import type { PricingService } from '@mercato/contracts/grpc/pricing';
import type { PricedBasket, PriceQuotes } from '../../application/order-ports.ts';

/** pricing's CalculateQuote: the prices the order is fixed at, in minor units. */
export class GrpcPriceQuotes implements PriceQuotes {
  readonly #pricing: GrpcClient<typeof PricingService>;

  constructor(pricing: GrpcClient<typeof PricingService>) {
    this.#pricing = pricing;
  }

  async quote(
    items: readonly { sku: string; quantity: number }[],
    customerId: string,
  ): Promise<PricedBasket> {
    const quote = await this.#pricing.client.calculateQuote({ items: [...items], customerId });
    const lines = quote.lines.map((line) => ({
      sku: line.sku,
      quantity: line.quantity,
      unitPriceMinor: Number(line.unitPriceMinor),
    }));
    const subtotal = lines.reduce((sum, line) => sum + line.quantity * line.unitPriceMinor, 0);
    return { currency: quote.currency, lines, discountMinor: subtotal - Number(quote.totalMinor) };
  }
}
