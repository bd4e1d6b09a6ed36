/** A line of an order: what was bought, how many, at what unit price. */
export interface SummaryLine {
  sku: string;
  quantity: number;
  unitPriceMinor: number;
  /** The monolith's line number, on an order taken over from it: how a later change finds the line. */
  lineNo?: number;
}

/**
 * One order as its customer sees it in lists: folded from order, payment and shipment events, or
 * from the monolith's order rows while it is migrated (`legacy-order-summary.ts`).
 */
export interface OrderSummary {
  orderId: string;
  /** Null until order.created is seen (a payment or shipment event may name an order first). */
  customerId: string | null;
  status: string;
  lines: SummaryLine[];
  itemCount: number;
  totalMinor: number;
  currency: string;
  paymentStatus: 'none' | 'processed' | 'failed' | 'refunded';
  refundedMinor: number;
  shipmentStatus: 'none' | 'dispatched' | 'delivered' | 'failed';
  trackingNumber: string | null;
  reason: string | null;
  reasonDetail: string | null;
  placedAt: string | null;
  confirmedAt: string | null;
  shippedAt: string | null;
  deliveredAt: string | null;
  cancelledAt: string | null;
  updatedAt: string;
  /** The order's stream version the summary reflects (0: unknown). */
  orderVersion: number;
}

/** A fact from the log, reduced to what the summary needs. */
export type SummaryFact =
  | {
      type: 'placed';
      customerId: string;
      lines: OrderSummary['lines'];
      totalMinor: number;
      currency: string;
    }
  | { type: 'confirmed' | 'shipped' | 'delivered' }
  /** Steps of a pending order: no column of their own, but a version of the order to reach. */
  | { type: 'inventory_reserved' | 'payment_authorized' }
  /** A cancellation under way (the order is `cancel_pending`), and one refused (back to confirmed). */
  | { type: 'cancel_requested' }
  | { type: 'cancel_refused'; reason: string }
  | { type: 'cancelled' | 'failed'; reason: string; reasonDetail: string | null }
  | { type: 'payment_processed' }
  | { type: 'payment_failed'; reason: string }
  | { type: 'payment_refunded'; amountMinor: number }
  | { type: 'shipment_dispatched'; trackingNumber: string }
  | { type: 'shipment_delivered' }
  | { type: 'shipment_failed'; reason: string };

export const emptySummary = (orderId: string, at: string): OrderSummary => ({
  orderId,
  customerId: null,
  status: 'pending',
  lines: [],
  itemCount: 0,
  totalMinor: 0,
  currency: 'EUR',
  paymentStatus: 'none',
  refundedMinor: 0,
  shipmentStatus: 'none',
  trackingNumber: null,
  reason: null,
  reasonDetail: null,
  placedAt: null,
  confirmedAt: null,
  shippedAt: null,
  deliveredAt: null,
  cancelledAt: null,
  updatedAt: at,
  orderVersion: 0,
});

/**
 * The summary after one fact. Pure and deterministic (times come from the events), so a rebuilt
 * read model equals the live one. Order facts set the status; payment and shipment facts only
 * their own columns, so they may arrive before or after the order's.
 */
export function applyFact(
  summary: OrderSummary,
  fact: SummaryFact,
  at: string,
  orderVersion: number | undefined,
): OrderSummary {
  const next: OrderSummary = {
    ...summary,
    updatedAt: at > summary.updatedAt ? at : summary.updatedAt,
    orderVersion: Math.max(summary.orderVersion, orderVersion ?? 0),
  };
  switch (fact.type) {
    case 'placed':
      return {
        ...next,
        customerId: fact.customerId,
        lines: fact.lines,
        itemCount: fact.lines.reduce((sum, line) => sum + line.quantity, 0),
        totalMinor: fact.totalMinor,
        currency: fact.currency,
        placedAt: at,
      };
    case 'inventory_reserved':
    case 'payment_authorized':
      return next;
    case 'confirmed':
      return { ...next, status: 'confirmed', confirmedAt: at };
    case 'cancel_requested':
      return { ...next, status: 'cancel_pending' };
    case 'cancel_refused':
      // Refused only from confirmed: the order goes on as it was; later facts move it on from there.
      return next.status === 'cancel_pending' ? { ...next, status: 'confirmed' } : next;
    case 'shipped':
      return { ...next, status: 'shipped', shippedAt: at };
    case 'delivered':
      return { ...next, status: 'delivered', deliveredAt: at };
    case 'cancelled':
    case 'failed':
      return {
        ...next,
        status: fact.type,
        reason: fact.reason,
        reasonDetail: fact.reasonDetail,
        cancelledAt: fact.type === 'cancelled' ? at : next.cancelledAt,
      };
    case 'payment_processed':
      return { ...next, paymentStatus: next.paymentStatus === 'refunded' ? 'refunded' : 'processed' };
    case 'payment_failed':
      return { ...next, paymentStatus: 'failed' };
    case 'payment_refunded':
      return { ...next, paymentStatus: 'refunded', refundedMinor: next.refundedMinor + fact.amountMinor };
    case 'shipment_dispatched':
      return {
        ...next,
        shipmentStatus: next.shipmentStatus === 'none' ? 'dispatched' : next.shipmentStatus,
        trackingNumber: fact.trackingNumber,
      };
    case 'shipment_delivered':
      return { ...next, shipmentStatus: 'delivered' };
    case 'shipment_failed':
      return { ...next, shipmentStatus: 'failed' };
  }
}
