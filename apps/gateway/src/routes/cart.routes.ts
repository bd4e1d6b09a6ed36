import type { CalculateQuoteResponse } from '@mercato/contracts/grpc/pricing';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import * as z from 'zod';
import type { Identification } from '../auth/identification.ts';
import type { Upstreams } from '../upstreams/upstreams.ts';
import { minor, problems } from './edge-schemas.ts';

const discount = z.object({ discount_id: z.string(), description: z.string(), amount_minor: z.number() });
export const quote = z.object({
  currency: z.string(),
  lines: z.array(
    z.object({
      sku: z.string(),
      quantity: z.number(),
      unit_price_minor: z.number(),
      subtotal_minor: z.number(),
      discount_minor: z.number(),
      total_minor: z.number(),
      discounts: z.array(discount),
    }),
  ),
  subtotal_minor: z.number(),
  discount_minor: z.number(),
  total_minor: z.number(),
  customer_segment: z.string(),
  segment_unavailable: z.boolean(),
});

/** A basket as clients send it: up to 100 lines of SKU and quantity. */
export const basket = z.object({
  items: z
    .array(
      z.object({
        sku: z
          .string()
          .min(3)
          .max(32)
          .transform((sku) => sku.toUpperCase()),
        quantity: z.number().int().min(1).max(1_000),
      }),
    )
    .min(1)
    .max(100),
});

export const toQuoteJson = (result: CalculateQuoteResponse) => ({
  currency: result.currency,
  lines: result.lines.map((line) => ({
    sku: line.sku,
    quantity: line.quantity,
    unit_price_minor: minor(line.unitPriceMinor),
    subtotal_minor: minor(line.subtotalMinor),
    discount_minor: minor(line.discountMinor),
    total_minor: minor(line.totalMinor),
    discounts: line.discounts.map((d) => ({
      discount_id: d.discountId,
      description: d.description,
      amount_minor: minor(d.amountMinor),
    })),
  })),
  subtotal_minor: minor(result.subtotalMinor),
  discount_minor: minor(result.discountMinor),
  total_minor: minor(result.totalMinor),
  customer_segment: result.customerSegment,
  segment_unavailable: result.segmentUnavailable,
});

/** The basket's price. Signed-in customers get their segment's discounts. */
export const cartEdgeRoutes =
  (upstreams: Upstreams, identification: Identification): FastifyPluginAsyncZod =>
  async (app) => {
    app.post(
      '/api/cart/quote',
      {
        schema: {
          tags: ['cart'],
          summary: 'Price a basket (amounts in integer minor units)',
          body: basket,
          response: { 200: quote, ...problems },
        },
      },
      async (request) => {
        const customerId = (await identification.principal(request))?.userId ?? '';
        const result = await upstreams
          .for(request)
          .pricing.client.calculateQuote({ items: request.body.items, customerId });
        return toQuoteJson(result);
      },
    );
  };
