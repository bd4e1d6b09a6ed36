import type { ReadModel, ReadModelEvent, Transaction } from '@mercato/chassis';
import {
  type DataOf,
  orderCancelled,
  orderConfirmed,
  orderCreated,
  orderFailed,
  paymentProcessed,
  paymentRefunded,
  productCreated,
  productUpdated,
} from '@mercato/contracts';
import { pairsOf } from '../../domain/bought-together.ts';

export const analyticsContracts = [
  productCreated,
  productUpdated,
  orderCreated,
  orderConfirmed,
  orderCancelled,
  orderFailed,
  paymentProcessed,
  paymentRefunded,
] as const;

/** One event's change, in SQL against the generation's schema. */
async function applyOne(transaction: Transaction, schema: string, event: ReadModelEvent): Promise<void> {
  const { envelope } = event;
  const at = envelope.timestamp;
  const q = (sql: string, values: unknown[]) => transaction.query(sql.replaceAll('$S', schema), values);
  switch (envelope.event_type) {
    case productCreated.type:
    case productUpdated.type: {
      const product = envelope.data as DataOf<typeof productCreated>;
      await q(
        `INSERT INTO $S.products (sku, category) VALUES ($1, $2)
         ON CONFLICT (sku) DO UPDATE SET category = EXCLUDED.category`,
        [product.sku, product.category],
      );
      return;
    }
    case orderCreated.type: {
      const order = envelope.data as DataOf<typeof orderCreated>;
      await q(
        `INSERT INTO $S.orders (order_id, customer_id, currency, total_minor, placed_at, day, outcome)
         VALUES ($1, $2, $3, $4, $5, ($5::timestamptz AT TIME ZONE 'UTC')::date, 'pending')
         ON CONFLICT (order_id) DO NOTHING`,
        [order.order_id, order.customer_id, order.currency, order.total_minor, at],
      );
      await q(
        `INSERT INTO $S.order_lines (order_id, sku, quantity, unit_price_minor)
         SELECT $1, l.sku, sum(l.quantity), max(l.unit_price_minor)
           FROM jsonb_to_recordset($2::jsonb) AS l(sku text, quantity integer, unit_price_minor bigint)
          GROUP BY l.sku
         ON CONFLICT DO NOTHING`,
        [order.order_id, JSON.stringify(order.lines)],
      );
      return;
    }
    case orderConfirmed.type: {
      const order = envelope.data as DataOf<typeof orderConfirmed>;
      await q(
        `UPDATE $S.orders SET outcome = 'confirmed', confirmed_at = $2,
                confirm_ms = extract(epoch FROM ($2::timestamptz - placed_at)) * 1000
          WHERE order_id = $1`,
        [order.order_id, at],
      );
      const pairs = pairsOf(order.lines.map((line) => line.sku));
      if (pairs.length > 0) {
        await q(
          `INSERT INTO $S.pairs (sku, with_sku, orders)
           SELECT a, b, 1 FROM unnest($1::text[], $2::text[]) AS p(a, b)
           ON CONFLICT (sku, with_sku) DO UPDATE SET orders = $S.pairs.orders + 1`,
          [pairs.map((pair) => pair[0]), pairs.map((pair) => pair[1])],
        );
      }
      await q(
        `INSERT INTO $S.customer_skus (customer_id, sku, units)
         SELECT $1, l.sku, sum(l.quantity) FROM jsonb_to_recordset($2::jsonb) AS l(sku text, quantity integer)
          GROUP BY l.sku
         ON CONFLICT (customer_id, sku) DO UPDATE SET units = $S.customer_skus.units + EXCLUDED.units`,
        [order.customer_id, JSON.stringify(order.lines)],
      );
      return;
    }
    case orderCancelled.type:
    case orderFailed.type: {
      const order = envelope.data as DataOf<typeof orderFailed>;
      await q(`UPDATE $S.orders SET outcome = $2, reason = $3, ended_at = $4 WHERE order_id = $1`, [
        order.order_id,
        envelope.event_type === orderCancelled.type ? 'cancelled' : 'failed',
        order.reason,
        at,
      ]);
      return;
    }
    // Payments keep their own rows: on JetStream a payment event may be read before its order's.
    case paymentProcessed.type:
      await q(
        `INSERT INTO $S.order_payments (order_id, paid) VALUES ($1, true)
         ON CONFLICT (order_id) DO UPDATE SET paid = true`,
        [(envelope.data as DataOf<typeof paymentProcessed>).order_id],
      );
      return;
    case paymentRefunded.type: {
      const refund = envelope.data as DataOf<typeof paymentRefunded>;
      await q(
        `INSERT INTO $S.order_payments (order_id, refunds, refunded_minor) VALUES ($1, 1, $2)
         ON CONFLICT (order_id) DO UPDATE SET refunds = $S.order_payments.refunds + 1,
           refunded_minor = $S.order_payments.refunded_minor + EXCLUDED.refunded_minor`,
        [refund.order_id, refund.amount_minor],
      );
      return;
    }
    default:
      throw new Error(`analytics does not read ${envelope.event_type}`);
  }
}

/**
 * Analytics' tables: orders with their outcome and time to confirm, their payments, their lines, products'
 * categories, "bought together" pair counts and what each customer bought. Reports aggregate
 * these at query time, so an order cancelled after its confirmation leaves the sales at once.
 */
export const analyticsReadModel: ReadModel = {
  name: 'analytics',
  topics: analyticsContracts.map((contract) => contract.type),
  contracts: analyticsContracts,
  tables: ['products', 'orders', 'order_payments', 'order_lines', 'pairs', 'customer_skus'],
  async createTables(transaction, schema) {
    await transaction.query(`
      CREATE TABLE ${schema}.products (sku text PRIMARY KEY, category text NOT NULL);
      CREATE TABLE ${schema}.orders (
        order_id text PRIMARY KEY,
        customer_id text NOT NULL,
        currency text NOT NULL,
        total_minor bigint NOT NULL,
        placed_at timestamptz NOT NULL,
        day date NOT NULL,
        outcome text NOT NULL,
        reason text,
        confirmed_at timestamptz,
        confirm_ms double precision,
        ended_at timestamptz
      );
      CREATE TABLE ${schema}.order_payments (
        order_id text PRIMARY KEY,
        paid boolean NOT NULL DEFAULT false,
        refunds integer NOT NULL DEFAULT 0,
        refunded_minor bigint NOT NULL DEFAULT 0
      );
      CREATE INDEX ON ${schema}.orders (day);
      CREATE TABLE ${schema}.order_lines (
        order_id text NOT NULL,
        sku text NOT NULL,
        quantity integer NOT NULL,
        unit_price_minor bigint NOT NULL,
        PRIMARY KEY (order_id, sku)
      );
      CREATE INDEX ON ${schema}.order_lines (sku);
      CREATE TABLE ${schema}.pairs (sku text NOT NULL, with_sku text NOT NULL, orders integer NOT NULL, PRIMARY KEY (sku, with_sku));
      CREATE TABLE ${schema}.customer_skus (customer_id text NOT NULL, sku text NOT NULL, units integer NOT NULL, PRIMARY KEY (customer_id, sku));
    `);
  },
  async apply(transaction, schema, events) {
    for (const event of events) await applyOne(transaction, schema, event);
  },
};
