import type { ReadModel, Transaction } from '@mercato/chassis';
import { applyFact, emptySummary, type OrderSummary } from '../../domain/order-summary.ts';
import { factOf, orderViewContracts } from './order-facts.ts';

interface SummaryRow {
  order_id: string;
  summary: OrderSummary;
}

const COLUMNS = `order_id, customer_id, status, lines, item_count, total_minor, currency, payment_status,
  refunded_minor, shipment_status, tracking_number, reason, reason_detail, placed_at, confirmed_at,
  shipped_at, delivered_at, cancelled_at, updated_at, order_version`;

/** The read model's one table: a row per order, a batch folded in memory and written in one upsert. */
export const orderSummariesReadModel: ReadModel = {
  name: 'order_view',
  topics: orderViewContracts.map((contract) => contract.type),
  contracts: orderViewContracts,
  tables: ['order_summaries'],
  async createTables(transaction: Transaction, schema: string) {
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
  },
  async apply(transaction, schema, events) {
    const facts = events.map(factOf);
    const ids = [...new Set(facts.map((fact) => fact.orderId))];
    const { rows } = await transaction.query<SummaryRow>(
      `SELECT order_id, summary FROM (
         SELECT order_id, jsonb_build_object(
           'orderId', order_id, 'customerId', customer_id, 'status', status, 'lines', lines,
           'itemCount', item_count, 'totalMinor', total_minor, 'currency', currency,
           'paymentStatus', payment_status, 'refundedMinor', refunded_minor,
           'shipmentStatus', shipment_status, 'trackingNumber', tracking_number, 'reason', reason,
           'reasonDetail', reason_detail, 'placedAt', ${iso('placed_at')}, 'confirmedAt', ${iso('confirmed_at')},
           'shippedAt', ${iso('shipped_at')}, 'deliveredAt', ${iso('delivered_at')},
           'cancelledAt', ${iso('cancelled_at')}, 'updatedAt', ${iso('updated_at')},
           'orderVersion', order_version) AS summary
         FROM ${schema}.order_summaries WHERE order_id = ANY($1::text[])) s`,
      [ids],
    );
    const summaries = new Map(rows.map((row) => [row.order_id, row.summary]));
    for (const { orderId, fact, at, orderVersion } of facts) {
      const before = summaries.get(orderId) ?? emptySummary(orderId, at);
      summaries.set(orderId, applyFact(before, fact, at, orderVersion));
    }
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
      [JSON.stringify([...summaries.values()])],
    );
  },
};

/** Timestamps go through JSON as ISO strings with milliseconds, as events carry them. */
function iso(column: string): string {
  return `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}
