import type { LiveGeneration, Pool } from '@mercato/chassis';
import type {
  OrderSummaries,
  SummaryListQuery,
  SummaryPage,
} from '../../application/order-summaries.port.ts';
import type { OrderSummary } from '../../domain/order-summary.ts';

const SELECT = `SELECT order_id, customer_id, status, lines, item_count, total_minor::float8 AS total_minor,
  currency, payment_status, refunded_minor::float8 AS refunded_minor, shipment_status, tracking_number, reason,
  reason_detail, placed_at, confirmed_at, shipped_at, delivered_at, cancelled_at, updated_at, order_version
  FROM $S.order_summaries`;

interface Row {
  order_id: string;
  customer_id: string | null;
  status: string;
  lines: OrderSummary['lines'];
  item_count: number;
  total_minor: number;
  currency: string;
  payment_status: OrderSummary['paymentStatus'];
  refunded_minor: number;
  shipment_status: OrderSummary['shipmentStatus'];
  tracking_number: string | null;
  reason: string | null;
  reason_detail: string | null;
  placed_at: Date | null;
  confirmed_at: Date | null;
  shipped_at: Date | null;
  delivered_at: Date | null;
  cancelled_at: Date | null;
  updated_at: Date;
  order_version: number;
}

const iso = (value: Date | null) => value?.toISOString() ?? null;

const toSummary = (row: Row): OrderSummary => ({
  orderId: row.order_id,
  customerId: row.customer_id,
  status: row.status,
  lines: row.lines,
  itemCount: row.item_count,
  totalMinor: row.total_minor,
  currency: row.currency,
  paymentStatus: row.payment_status,
  refundedMinor: row.refunded_minor,
  shipmentStatus: row.shipment_status,
  trackingNumber: row.tracking_number,
  reason: row.reason,
  reasonDetail: row.reason_detail,
  placedAt: iso(row.placed_at),
  confirmedAt: iso(row.confirmed_at),
  shippedAt: iso(row.shipped_at),
  deliveredAt: iso(row.delivered_at),
  cancelledAt: iso(row.cancelled_at),
  updatedAt: row.updated_at.toISOString(),
  orderVersion: row.order_version,
});

const encodeToken = (row: Row) =>
  Buffer.from(JSON.stringify([row.placed_at?.toISOString(), row.order_id])).toString('base64url');

/** A page token, or undefined when it is not one of ours. */
export function decodePageToken(token: string): [string, string] | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && value.every((part) => typeof part === 'string'))
      return [value[0] as string, value[1] as string];
  } catch {
    // not JSON: falls through
  }
  return undefined;
}

/** Queries of the live generation, by its schema (see `ReadModelRunner.live`). */
export class PostgresOrderSummaries implements OrderSummaries {
  readonly #pool: Pool;
  readonly #live: () => Promise<LiveGeneration>;

  constructor(pool: Pool, live: () => Promise<LiveGeneration>) {
    this.#pool = pool;
    this.#live = live;
  }

  async get(orderId: string) {
    const { schema, position } = await this.#live();
    const { rows } = await this.#pool.query<Row>(
      `${SELECT.replaceAll('$S', schema)} WHERE order_id = $1 AND customer_id IS NOT NULL`,
      [orderId],
    );
    return { summary: rows[0] ? toSummary(rows[0]) : undefined, position };
  }

  /**
   * A page of the customer's orders, their counts per status and the position of the live
   * generation, in one statement: one round trip, and the position is exactly what the rows reflect.
   */
  async list(query: SummaryListQuery): Promise<SummaryPage> {
    const { schema, name } = await this.#live();
    const { rows } = await this.#pool.query<
      Row & { position: string | null; counts: Record<string, number> | null }
    >(
      `SELECT p.position, c.counts, r.*
         FROM (SELECT (SELECT checkpoint FROM read_model_generations WHERE schema_name = $6) AS position) p
        CROSS JOIN LATERAL (
          SELECT jsonb_object_agg(status, n) AS counts
            FROM (SELECT status, count(*)::int AS n FROM $S.order_summaries WHERE customer_id = $1 GROUP BY status) s) c
         LEFT JOIN LATERAL (
          ${SELECT} WHERE customer_id = $1 AND ($2::text IS NULL OR status = $2)
              AND ($3::timestamptz IS NULL OR (placed_at, order_id) < ($3::timestamptz, $4::text))
            ORDER BY placed_at DESC, order_id DESC LIMIT $5) r ON true`.replaceAll('$S', schema),
      [
        query.customerId,
        query.status ?? null,
        query.after?.[0] ?? null,
        query.after?.[1] ?? null,
        query.pageSize + 1,
        name,
      ],
    );
    const found = rows.filter((row) => row.order_id !== null);
    const page = found.slice(0, query.pageSize);
    const last = page.at(-1);
    return {
      orders: page.map(toSummary),
      next: found.length > query.pageSize && last ? encodeToken(last) : null,
      counts: rows[0]?.counts ?? {},
      position: rows[0]?.position ?? null,
    };
  }
}
