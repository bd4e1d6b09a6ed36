import type { ConnectRouter, HandlerContext } from '@connectrpc/connect';
import { parseRequest, validationFailed } from '@mercato/chassis';
import { OrderViewService } from '@mercato/contracts/grpc/order-view';
import * as z from 'zod';
import type { OrderViewQueries } from '../../application/order-view-queries.ts';
import type { OrderSummary } from '../../domain/order-summary.ts';
import { listConsistentWithOwnOrder } from '../http/own-order-consistency.ts';
import { decodePageToken } from '../persistence/postgres-order-summaries.ts';

const statuses = [
  'pending',
  'confirmed',
  'cancel_pending',
  'shipped',
  'delivered',
  'cancelled',
  'failed',
] as const;
const id = z.string().trim().min(1).max(64);

const listRequest = z.object({
  customerId: id,
  status: z.union([z.literal(''), z.enum(statuses)]),
  pageSize: z.number().int().min(0).max(100),
  pageToken: z.string().max(200),
  consistentWith: z.object({ orderId: id, minVersion: z.number().int().min(0) }).optional(),
});

const getRequest = z.object({ orderId: id, minVersion: z.number().int().min(0) });

const toMessage = (summary: OrderSummary) => ({
  orderId: summary.orderId,
  customerId: summary.customerId ?? '',
  status: summary.status,
  lines: summary.lines.map((line) => ({
    sku: line.sku,
    quantity: line.quantity,
    unitPriceMinor: BigInt(line.unitPriceMinor),
  })),
  itemCount: summary.itemCount,
  totalMinor: BigInt(summary.totalMinor),
  currency: summary.currency,
  paymentStatus: summary.paymentStatus,
  refundedMinor: BigInt(summary.refundedMinor),
  shipmentStatus: summary.shipmentStatus,
  trackingNumber: summary.trackingNumber ?? '',
  reason: summary.reason ?? '',
  reasonDetail: summary.reasonDetail ?? '',
  placedAt: summary.placedAt ?? '',
  confirmedAt: summary.confirmedAt ?? '',
  shippedAt: summary.shippedAt ?? '',
  deliveredAt: summary.deliveredAt ?? '',
  cancelledAt: summary.cancelledAt ?? '',
  updatedAt: summary.updatedAt,
  orderVersion: summary.orderVersion,
});

/**
 * What is left of the call's deadline, less room for the answer to reach the caller (a fifth of it,
 * 100–500 ms): a consistency wait never outlives its caller, and a loaded machine's stall does not
 * turn the "not caught up" answer into the caller's own deadline error.
 */
const waitBudget = (context: HandlerContext) => {
  const left = Math.max(0, context.timeoutMs() ?? 3_000);
  return Math.max(0, left - Math.min(500, Math.max(100, left / 5)));
};

export const orderViewGrpc = (queries: OrderViewQueries) => (router: ConnectRouter) => {
  router.service(OrderViewService, {
    async listCustomerOrders(request, context) {
      const query = parseRequest(listRequest, request);
      const after = query.pageToken ? decodePageToken(query.pageToken) : undefined;
      if (query.pageToken && !after)
        throw validationFailed([{ field: 'page_token', message: 'not a page token' }]);
      const page = await listConsistentWithOwnOrder(
        queries,
        {
          customerId: query.customerId,
          status: query.status || undefined,
          pageSize: query.pageSize || 20,
          after,
          consistentWith: query.consistentWith?.orderId ? query.consistentWith : undefined,
        },
        waitBudget(context),
      );
      return {
        orders: page.orders.map(toMessage),
        nextPageToken: page.next ?? '',
        position: page.position ?? '',
        counts: page.counts,
      };
    },
    async getOrderSummary(request, context) {
      const query = parseRequest(getRequest, request);
      const { summary, position } = await queries.summary(
        query.orderId,
        query.minVersion,
        waitBudget(context),
      );
      return { summary: toMessage(summary), position: position ?? '' };
    },
  });
};
