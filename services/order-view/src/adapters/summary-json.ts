import type { OrderSummary } from '../domain/order-summary.ts';

/** A summary as the HTTP API and the edge show it (snake_case, money in minor units). */
export const summaryJson = (summary: OrderSummary) => ({
  order_id: summary.orderId,
  customer_id: summary.customerId,
  status: summary.status,
  lines: summary.lines.map((line) => ({
    sku: line.sku,
    quantity: line.quantity,
    unit_price_minor: line.unitPriceMinor,
  })),
  item_count: summary.itemCount,
  total_minor: summary.totalMinor,
  currency: summary.currency,
  payment_status: summary.paymentStatus,
  refunded_minor: summary.refundedMinor,
  shipment_status: summary.shipmentStatus,
  tracking_number: summary.trackingNumber,
  reason: summary.reason,
  reason_detail: summary.reasonDetail,
  placed_at: summary.placedAt,
  confirmed_at: summary.confirmedAt,
  shipped_at: summary.shippedAt,
  delivered_at: summary.deliveredAt,
  cancelled_at: summary.cancelledAt,
  updated_at: summary.updatedAt,
  order_version: summary.orderVersion,
});
