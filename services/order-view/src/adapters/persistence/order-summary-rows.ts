import type { Transaction } from '@mercato/chassis';
import type { OrderSummary } from '../../domain/order-summary.ts';

/** The read model's main table, in a generation's (quoted) schema: a row per order. */
export const SUMMARIES_TABLE = 'order_summaries';

const COLUMNS = `order_id, customer_id, status, lines, item_count, total_minor, currency, payment_status,
  refunded_minor, shipment_status, tracking_number, reason, reason_detail, placed_at, confirmed_at,
  shipped_at, delivered_at, cancelled_at, updated_at, order_version`;

export async function createSummariesTable(transaction: Transaction, schema: string): Promise<void> {
  await transaction.query(`
    CREATE TABLE ${schema}.order_summaries (
      order_id text PRIMARY KEY,
      customer_id text,
      status text NOT NULL,
      lines jsonb NOT NULL,
      item_count integer NOT NULL,
      total_minor bigint NOT NULL,
      currency text NOT NULL,
      payment_status text NOT NULL,
      refunded_minor bigint NOT NULL,
      shipment_status text NOT NULL,
      tracking_number text,
      reason text,
      reason_detail text,
      placed_at timestamptz,
      confirmed_at timestamptz,
      shipped_at timestamptz,
      delivered_at timestamptz,
      cancelled_at timestamptz,
      updated_at timestamptz NOT NULL,
      order_version integer NOT NULL
    )`);
  await transaction.query(
    `CREATE INDEX ON ${schema}.order_summaries (customer_id, placed_at DESC, order_id DESC)`,
  );
}

/** Timestamps go through JSON as ISO strings with milliseconds, as events carry them. */
const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** The summaries of these orders the generation has, by order id. */
export async function selectSummaries(
  transaction: Transaction,
  schema: string,
  orderIds: readonly string[],
): Promise<Map<string, OrderSummary>> {
  if (orderIds.length === 0) return new Map();
  const { rows } = await transaction.query<{ order_id: string; summary: OrderSummary }>(
    `SELECT order_id, jsonb_build_object(
       'orderId', order_id, 'customerId', customer_id, 'status', status, 'lines', lines,
       'itemCount', item_count, 'totalMinor', total_minor, 'currency', currency,
       'paymentStatus', payment_status, 'refundedMinor', refunded_minor,
       'shipmentStatus', shipment_status, 'trackingNumber', tracking_number, 'reason', reason,
       'reasonDetail', reason_detail, 'placedAt', ${iso('placed_at')}, 'confirmedAt', ${iso('confirmed_at')},
       'shippedAt', ${iso('shipped_at')}, 'deliveredAt', ${iso('delivered_at')},
       'cancelledAt', ${iso('cancelled_at')}, 'updatedAt', ${iso('updated_at')},
       'orderVersion', order_version) AS summary
     FROM ${schema}.order_summaries WHERE order_id = ANY($1::text[])`,
    [orderIds],
  );
  return new Map(rows.map((row) => [row.order_id, row.summary]));
}

/** Writes the summaries in one upsert. */
export async function upsertSummaries(
  transaction: Transaction,
  schema: string,
  summaries: readonly OrderSummary[],
): Promise<void> {
  if (summaries.length === 0) return;
  await transaction.query(
    `INSERT INTO ${schema}.order_summaries (${COLUMNS})
     SELECT s."orderId", s."customerId", s.status, s.lines, s."itemCount", s."totalMinor", s.currency,
            s."paymentStatus", s."refundedMinor", s."shipmentStatus", s."trackingNumber", s.reason,
            s."reasonDetail", s."placedAt", s."confirmedAt", s."shippedAt", s."deliveredAt",
            s."cancelledAt", s."updatedAt", s."orderVersion"
       FROM jsonb_to_recordset($1::jsonb) AS s(
         "orderId" text, "customerId" text, status text, lines jsonb, "itemCount" integer,
         "totalMinor" bigint, currency text, "paymentStatus" text, "refundedMinor" bigint,
         "shipmentStatus" text, "trackingNumber" text, reason text, "reasonDetail" text,
         "placedAt" timestamptz, "confirmedAt" timestamptz, "shippedAt" timestamptz,
         "deliveredAt" timestamptz, "cancelledAt" timestamptz, "updatedAt" timestamptz,
         "orderVersion" integer)
     ON CONFLICT (order_id) DO UPDATE SET (${COLUMNS}) = (${COLUMNS.split(',')
       .map((column) => `EXCLUDED.${column.trim()}`)
       .join(', ')})`,
    [JSON.stringify(summaries)],
  );
}

export async function deleteSummaries(
  transaction: Transaction,
  schema: string,
  orderIds: readonly string[],
): Promise<void> {
  if (orderIds.length === 0) return;
  await transaction.query(`DELETE FROM ${schema}.order_summaries WHERE order_id = ANY($1::text[])`, [
    orderIds,
  ]);
}
