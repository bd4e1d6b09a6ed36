import type { ReadModelEvent } from '@mercato/chassis';
import {
  type DataOf,
  legacyOrderChanged,
  legacyOrderId,
  legacyOrderLineChanged,
  legacyOrderStatus,
  legacyProductChanged,
  legacyUserId,
} from '@mercato/contracts';
import type { LegacyOrderChange } from '../../domain/legacy-order-summary.ts';

/**
 * What order-view reads of the monolith's change data capture while its orders move over: order
 * rows, their lines, and products for the SKUs the lines name only by product id.
 *
 * No guard by commit LSN (as identity's consumer has): a read model reads the log in its order, in
 * which an order's changes are in commit order (one context: one JetStream stream too); a change
 * the capture publishes again after a crash has the id it had, applied once per copy by the runner
 * (`applied-events.ts`); and a snapshot taken anew brings rows as they are now, never older ones.
 */
export const legacyContracts = [legacyOrderChanged, legacyOrderLineChanged, legacyProductChanged] as const;

export const isLegacyEvent = (event: ReadModelEvent): boolean =>
  legacyContracts.some((contract) => contract.type === event.envelope.event_type);

/** One legacy event, as the read model applies it. */
export type LegacyFact =
  | { kind: 'order'; orderId: string; change: LegacyOrderChange; at: string }
  /** A line inserted or updated: its SKU is looked up by product when it is applied. */
  | {
      kind: 'line';
      orderId: string;
      productId: string;
      line: { lineNo: number; quantity: number; unitPriceMinor: number };
      at: string;
    }
  /** A product's SKU, null once the product is deleted. */
  | { kind: 'product'; productId: string; sku: string | null };

/**
 * The SKU of a line whose product the read model has not seen (the log brings a product's row
 * before any line naming it, so only a product the capture left out): deterministic, like
 * `legacyUserId`, and never a catalog SKU (those are upper case).
 */
export const unknownProductSku = (productId: string) => `legacy-${productId}`;

/**
 * What a change of the monolith says. Prices are EUR cents, the services' minor units; a status
 * the services have no name for (the monolith's CHECK allows none) is kept as the monolith names it.
 */
export function legacyFactOf(event: ReadModelEvent): LegacyFact {
  const { envelope } = event;
  const at = envelope.timestamp;
  switch (envelope.event_type) {
    case legacyOrderChanged.type: {
      const { op, key, row } = envelope.data as DataOf<typeof legacyOrderChanged>;
      const orderId = legacyOrderId(row?.id ?? String(key.id));
      if (!row) return { kind: 'order', orderId, change: { type: 'order_deleted' }, at };
      const change: LegacyOrderChange = {
        type: 'order_changed',
        snapshot: op === 'snapshot',
        row: {
          customerId: legacyUserId(row.customer_id),
          status: legacyOrderStatus[row.status] ?? row.status,
          totalMinor: row.total_cents,
          currency: 'EUR',
          placedAt: row.placed_at,
          updatedAt: row.updated_at,
        },
      };
      return { kind: 'order', orderId, change, at };
    }
    case legacyOrderLineChanged.type: {
      const { key, row } = envelope.data as DataOf<typeof legacyOrderLineChanged>;
      if (!row) {
        const change: LegacyOrderChange = { type: 'line_deleted', lineNo: Number(key.line_no) };
        return { kind: 'order', orderId: legacyOrderId(String(key.order_id)), change, at };
      }
      return {
        kind: 'line',
        orderId: legacyOrderId(row.order_id),
        productId: row.product_id,
        line: { lineNo: row.line_no, quantity: row.quantity, unitPriceMinor: row.unit_price_cents },
        at,
      };
    }
    case legacyProductChanged.type: {
      const { key, row } = envelope.data as DataOf<typeof legacyProductChanged>;
      return { kind: 'product', productId: row?.id ?? String(key.id), sku: row?.sku ?? null };
    }
    default:
      throw new Error(`not a legacy event order-view reads: ${envelope.event_type}`);
  }
}
