import type { ConnectRouter } from '@connectrpc/connect';
import { parseRequest } from '@mercato/chassis';
import { PricingService } from '@mercato/contracts/grpc/pricing';
import * as z from 'zod';
import type { PricingService as Pricing } from '../../application/pricing-service.ts';

const quoteRequest = z.object({
  items: z
    .array(z.object({ sku: z.string().trim().min(1).max(32), quantity: z.number().int().min(1).max(10_000) }))
    .min(1)
    .max(100),
  customerId: z.string().max(64),
});

export const pricingGrpc = (pricing: Pricing) => (router: ConnectRouter) =>
  router.service(PricingService, {
    async calculateQuote(request) {
      const input = parseRequest(quoteRequest, request);
      const quote = await pricing.quote(input.items, input.customerId || undefined);
      return {
        currency: quote.currency,
        lines: quote.lines.map((line) => ({
          sku: line.sku,
          quantity: line.quantity,
          unitPriceMinor: BigInt(line.unitPriceMinor),
          subtotalMinor: BigInt(line.subtotalMinor),
          discountMinor: BigInt(line.discountMinor),
          totalMinor: BigInt(line.totalMinor),
          discounts: line.discounts.map((d) => ({ ...d, amountMinor: BigInt(d.amountMinor) })),
        })),
        subtotalMinor: BigInt(quote.subtotalMinor),
        discountMinor: BigInt(quote.discountMinor),
        totalMinor: BigInt(quote.totalMinor),
        customerSegment: quote.customerSegment,
        segmentUnavailable: quote.segmentUnavailable,
      };
    },
  });
