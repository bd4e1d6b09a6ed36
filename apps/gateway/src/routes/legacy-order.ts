import { create } from '@bufbuild/protobuf';
import { legacyKeyOf } from '@mercato/contracts';
import { type Order, OrderLineSchema, OrderSchema } from '@mercato/contracts/grpc/order';
import type { FastifyRequest } from 'fastify';
import * as z from 'zod';
import { readJson } from '../upstreams/http-backend.ts';
import type { Upstreams } from '../upstreams/upstreams.ts';

/** An order of the monolith, taken over by order-view (strangler fig, phase 1): `ord_legacy_<n>`. */
export const isLegacyOrderId = (orderId: string) =>
  orderId.startsWith('ord_legacy_') && legacyKeyOf(orderId) !== undefined;

/** What the gateway reads of order-view's summary of one order. */
const summaryJson = z.object({
  order_id: z.string(),
  customer_id: z.string(),
  status: z.string(),
  lines: z.array(z.object({ sku: z.string(), quantity: z.number(), unit_price_minor: z.number() })),
  total_minor: z.number(),
  currency: z.string(),
  reason: z.string().nullish(),
  reason_detail: z.string().nullish(),
  placed_at: z.string().nullish(),
  updated_at: z.string(),
  order_version: z.number(),
});

/**
 * An order the monolith took and order-view now holds (its history came over by change data
 * capture): order has no event stream for it, so it is answered from order-view's summary, in
 * order's shape. Undefined when order-view has none (or is not deployed): the caller's 404.
 */
export async function legacyOrder(
  upstreams: Upstreams,
  request: FastifyRequest,
  orderId: string,
): Promise<Order | undefined> {
  const cluster = request.gatewayRoute.clusterFor('order-view');
  if (!cluster) return undefined;
  const summary = await readJson(
    cluster,
    `/orders/${encodeURIComponent(orderId)}/summary`,
    summaryJson,
    upstreams.httpBackends,
    {
      code: 'ORDER_VIEW.BAD_ANSWER',
      message: "order-view's summary of the order was not what the gateway reads",
    },
  ).catch((error: unknown) => {
    if ((error as { kind?: string }).kind === 'not_found') return undefined;
    throw error;
  });
  if (summary === undefined) return undefined;
  return create(OrderSchema, {
    orderId: summary.order_id,
    customerId: summary.customer_id,
    status: summary.status,
    lines: summary.lines.map((line) =>
      create(OrderLineSchema, {
        sku: line.sku,
        quantity: line.quantity,
        unitPriceMinor: BigInt(line.unit_price_minor),
      }),
    ),
    totalMinor: BigInt(summary.total_minor),
    currency: summary.currency,
    reason: summary.reason ?? '',
    reasonDetail: summary.reason_detail ?? '',
    placedAt: summary.placed_at ?? '',
    updatedAt: summary.updated_at,
    version: summary.order_version,
  });
}
