import type { LiveGeneration, Pool } from '@mercato/chassis';
import type { CategorySales, DailySales, Reports, SagaOutcomes } from '../../application/reports.port.ts';
import type { Recommendation } from '../../domain/bought-together.ts';

/** A sale is an order whose saga confirmed it and that was not cancelled afterwards. */
const SOLD = `o.confirmed_at IS NOT NULL AND o.outcome NOT IN ('cancelled', 'failed')`;

/** Cancelled or failed after a step had taken effect: stock had been reserved or money taken. */
const COMPENSATED = `outcome IN ('cancelled', 'failed')
  AND (coalesce(p.paid, false) OR reason IN ('payment_declined', 'step_timed_out', 'step_failed', 'shipping_failed'))`;

/** Reports over the live generation, by its schema, aggregated at query time. */
export class PostgresReports implements Reports {
  readonly #pool: Pool;
  readonly #live: () => Promise<LiveGeneration>;

  constructor(pool: Pool, live: () => Promise<LiveGeneration>) {
    this.#pool = pool;
    this.#live = live;
  }

  /**
   * The live generation, looked up once per report: every query of one answer reads the same copy
   * (a switch between them would mix two), and the answer carries that copy's position.
   */
  async #inLive() {
    const { schema, position } = await this.#live();
    const query = <Row extends object>(sql: string, values: unknown[] = []) =>
      this.#pool.query<Row>(sql.replaceAll('$S', schema), values);
    return { query, position };
  }

  async sales(from: string, to: string) {
    const { query, position } = await this.#inLive();
    const [days, categories] = await Promise.all([
      query<DailySales>(
        `SELECT to_char(o.day, 'YYYY-MM-DD') AS day, o.currency, count(*)::int AS orders,
                sum(l.units)::int AS units, sum(o.total_minor)::float8 AS "revenueMinor"
           FROM $S.orders o JOIN (SELECT order_id, sum(quantity) AS units FROM $S.order_lines GROUP BY order_id) l USING (order_id)
          WHERE ${SOLD} AND o.day BETWEEN $1::date AND $2::date
          GROUP BY o.day, o.currency ORDER BY o.day, o.currency`,
        [from, to],
      ),
      query<CategorySales>(
        `SELECT to_char(o.day, 'YYYY-MM-DD') AS day, coalesce(p.category, 'uncategorised') AS category, o.currency,
                sum(l.quantity)::int AS units, sum(l.quantity * l.unit_price_minor)::float8 AS "revenueMinor"
           FROM $S.orders o JOIN $S.order_lines l USING (order_id) LEFT JOIN $S.products p USING (sku)
          WHERE ${SOLD} AND o.day BETWEEN $1::date AND $2::date
          GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
        [from, to],
      ),
    ]);
    return { days: days.rows, categories: categories.rows, position };
  }

  async sagaOutcomes() {
    const { query, position } = await this.#inLive();
    const { rows } = await query<Omit<SagaOutcomes, 'cancelledByReason'>>(
      `SELECT count(*)::int AS placed,
              count(*) FILTER (WHERE outcome = 'pending')::int AS pending,
              count(*) FILTER (WHERE confirmed_at IS NOT NULL)::int AS confirmed,
              count(*) FILTER (WHERE outcome = 'failed')::int AS failed,
              count(*) FILTER (WHERE ${COMPENSATED})::int AS compensated,
              coalesce(sum(p.refunds), 0)::int AS refunds,
              coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY confirm_ms), 0) AS "confirmP50Ms",
              coalesce(percentile_cont(0.9) WITHIN GROUP (ORDER BY confirm_ms), 0) AS "confirmP90Ms",
              coalesce(percentile_cont(0.99) WITHIN GROUP (ORDER BY confirm_ms), 0) AS "confirmP99Ms"
         FROM $S.orders o LEFT JOIN $S.order_payments p USING (order_id)`,
    );
    const reasons = await query<{ reason: string; n: number }>(
      `SELECT reason, count(*)::int AS n FROM $S.orders WHERE outcome = 'cancelled' GROUP BY reason ORDER BY reason`,
    );
    const totals = rows[0];
    if (!totals) throw new Error('no saga outcome row');
    return {
      ...totals,
      cancelledByReason: Object.fromEntries(reasons.rows.map((row) => [row.reason, row.n])),
      position,
    };
  }

  async recommendationInputs(customerId: string, limit: number) {
    const { query, position } = await this.#inLive();
    const owned = await query<{ sku: string }>('SELECT sku FROM $S.customer_skus WHERE customer_id = $1', [
      customerId,
    ]);
    const skus = owned.rows.map((row) => row.sku);
    const [together, popular] = await Promise.all([
      query<Recommendation>(
        `SELECT p.with_sku AS sku, 'bought_together' AS reason, sum(p.orders)::float8 AS score,
                coalesce(pr.category, 'uncategorised') AS category
           FROM $S.pairs p LEFT JOIN $S.products pr ON pr.sku = p.with_sku
          WHERE p.sku = ANY($1::text[]) AND NOT p.with_sku = ANY($1::text[])
          GROUP BY p.with_sku, pr.category ORDER BY score DESC, sku LIMIT $2`,
        [skus, limit],
      ),
      // Popular in the customer's categories; for a customer with no history, popular overall.
      query<Recommendation>(
        `SELECT l.sku, 'popular_in_category' AS reason, sum(l.quantity)::float8 AS score,
                coalesce(pr.category, 'uncategorised') AS category
           FROM $S.order_lines l JOIN $S.orders o USING (order_id) LEFT JOIN $S.products pr USING (sku)
          WHERE ${SOLD} AND NOT l.sku = ANY($1::text[])
            AND (cardinality($1::text[]) = 0 OR pr.category IN (SELECT category FROM $S.products WHERE sku = ANY($1::text[])))
          GROUP BY l.sku, pr.category ORDER BY score DESC, sku LIMIT $2`,
        [skus, limit],
      ),
    ]);
    return { owned: new Set(skus), together: together.rows, popular: popular.rows, position };
  }
}
