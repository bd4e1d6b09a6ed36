import type { Projection, StoredEvent, Transaction } from '@mercato/chassis';
import { decodeOrderEvent } from './order-event-codec.ts';

interface Summary {
  order_id: string;
  customer_id: string;
  status: string;
  total_minor: number;
  currency: string;
  reason: string | null;
  version: number;
  placed_at: string;
  updated_at: string;
}

const statusAfter: Record<string, string | undefined> = {
  OrderConfirmed: 'confirmed',
  OrderCancelled: 'cancelled',
  OrderFailed: 'failed',
  OrderShipped: 'shipped',
  OrderDelivered: 'delivered',
};

/**
 * One row per order (status, total, reason) folded from the order streams: what operators list and
 * audits count. A batch is folded in memory and written with one upsert.
 */
export const orderSummariesProjection: Projection = {
  name: 'order-summaries',
  async apply(transaction: Transaction, events: readonly StoredEvent[]) {
    const orderEvents = events.filter((event) => event.streamId.startsWith('order-'));
    if (orderEvents.length === 0) return;
    const ids = [...new Set(orderEvents.map((event) => event.streamId.slice('order-'.length)))];
    const { rows } = await transaction.query<Summary>(
      `SELECT order_id, customer_id, status, total_minor, currency, reason, version,
              placed_at::text, updated_at::text
         FROM order_summaries WHERE order_id = ANY($1::text[])`,
      [ids],
    );
    const summaries = new Map(rows.map((row) => [row.order_id, row]));
    for (const stored of orderEvents) {
      const event = decodeOrderEvent(stored);
      const at = event.at.toISOString();
      if (event.type === 'OrderPlaced') {
        summaries.set(event.orderId, {
          order_id: event.orderId,
          customer_id: event.customerId,
          status: 'pending',
          total_minor: event.totalMinor,
          currency: event.currency,
          reason: null,
          version: stored.streamVersion,
          placed_at: at,
          updated_at: at,
        });
        continue;
      }
      const summary = summaries.get(stored.streamId.slice('order-'.length));
      if (!summary) continue;
      summary.version = stored.streamVersion;
      summary.updated_at = at;
      summary.status = statusAfter[event.type] ?? summary.status;
      if (event.type === 'OrderCancelled') summary.reason = event.reason;
      if (event.type === 'OrderFailed') summary.reason = event.reason;
    }
    await transaction.query(
      `INSERT INTO order_summaries (order_id, customer_id, status, total_minor, currency, reason, version, placed_at, updated_at)
       SELECT order_id, customer_id, status, total_minor, currency, reason, version, placed_at, updated_at
         FROM jsonb_to_recordset($1::jsonb) AS s(order_id text, customer_id text, status text, total_minor bigint,
              currency text, reason text, version int, placed_at timestamptz, updated_at timestamptz)
       ON CONFLICT (order_id) DO UPDATE SET status = EXCLUDED.status, reason = EXCLUDED.reason,
              version = EXCLUDED.version, updated_at = EXCLUDED.updated_at`,
      [JSON.stringify([...summaries.values()])],
    );
  },
  async reset(transaction: Transaction) {
    await transaction.query('DELETE FROM order_summaries');
  },
};
