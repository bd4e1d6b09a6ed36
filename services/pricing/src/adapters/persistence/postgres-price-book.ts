import type { Pool, Transaction } from '@mercato/chassis';
import type { PriceBook } from '../../application/price-book.port.ts';
import type { Discount, Price } from '../../domain/quote.ts';

interface DiscountRow {
  id: string;
  description: string;
  kind: Discount['kind'];
  basis_points: number | null;
  amount_minor: string | null;
  buy: number | null;
  free: number | null;
  sku: string | null;
  category: string | null;
  segment: string | null;
}

const toDiscount = (row: DiscountRow): Discount => {
  const scope = {
    id: row.id,
    description: row.description,
    sku: row.sku ?? undefined,
    category: row.category ?? undefined,
    segment: row.segment ?? undefined,
  };
  switch (row.kind) {
    case 'percentage':
      return { ...scope, kind: 'percentage', basisPoints: row.basis_points ?? 0 };
    case 'fixed_amount':
      return { ...scope, kind: 'fixed_amount', amountMinor: Number(row.amount_minor) };
    case 'buy_x_get_y':
      return { ...scope, kind: 'buy_x_get_y', buy: row.buy ?? 1, free: row.free ?? 1 };
  }
};

/** Prices, what pricing knows of products, and discounts, on PostgreSQL. */
export class PostgresPriceBook implements PriceBook {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async pricesFor(skus: readonly string[]): Promise<Map<string, Price>> {
    const { rows } = await this.#pool.query<{ sku: string; amount_minor: string; currency: string }>(
      'SELECT sku, amount_minor, currency FROM prices WHERE sku = ANY($1::text[])',
      [skus],
    );
    // bigint comes back as a string; list prices are far below 2^53 minor units.
    return new Map(
      rows.map((row) => [
        row.sku,
        { sku: row.sku, amountMinor: Number(row.amount_minor), currency: row.currency },
      ]),
    );
  }

  async categoriesFor(skus: readonly string[]): Promise<Map<string, string>> {
    const { rows } = await this.#pool.query<{ sku: string; category: string }>(
      'SELECT sku, category FROM products WHERE sku = ANY($1::text[])',
      [skus],
    );
    return new Map(rows.map((row) => [row.sku, row.category]));
  }

  async activeDiscounts(): Promise<Discount[]> {
    // Run for every quote: named columns, so that the chassis prepares it (a `*` read never is).
    const { rows } = await this.#pool.query<DiscountRow>(
      `SELECT id, description, kind, basis_points, amount_minor, buy, free, sku, category, segment
         FROM discounts WHERE active ORDER BY id`,
    );
    return rows.map(toDiscount);
  }

  /** Records a catalog product (idempotent: the event may be delivered again). */
  async recordProduct(client: Transaction, sku: string, category: string): Promise<void> {
    await client.query(
      'INSERT INTO products (sku, category) VALUES ($1, $2) ON CONFLICT (sku) DO UPDATE SET category = EXCLUDED.category',
      [sku, category],
    );
  }

  async setPrices(prices: readonly Price[]): Promise<void> {
    await this.#pool.query(
      `INSERT INTO prices (sku, amount_minor, currency)
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[])
       ON CONFLICT (sku) DO UPDATE SET amount_minor = EXCLUDED.amount_minor, currency = EXCLUDED.currency, updated_at = now()`,
      [prices.map((p) => p.sku), prices.map((p) => p.amountMinor), prices.map((p) => p.currency)],
    );
  }

  async addDiscounts(discounts: readonly Discount[]): Promise<void> {
    for (const d of discounts) {
      await this.#pool.query(
        `INSERT INTO discounts (id, description, kind, basis_points, amount_minor, buy, free, sku, category, segment)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING`,
        [
          d.id,
          d.description,
          d.kind,
          d.kind === 'percentage' ? d.basisPoints : null,
          d.kind === 'fixed_amount' ? d.amountMinor : null,
          d.kind === 'buy_x_get_y' ? d.buy : null,
          d.kind === 'buy_x_get_y' ? d.free : null,
          d.sku ?? null,
          d.category ?? null,
          d.segment ?? null,
        ],
      );
    }
  }

  async countPrices(): Promise<number> {
    const { rows } = await this.#pool.query<{ n: number }>('SELECT count(*)::int AS n FROM prices');
    return rows[0]?.n ?? 0;
  }
}
