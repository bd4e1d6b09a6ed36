import { legacyOrderStatus } from '@mercato/contracts';
import pg from 'pg';
import { compareRows, driftOf, type Fingerprints, type TableDrift } from './drift.ts';

/** Where the checker reads: the monolith's database and those of the services that take it over. */
export interface MigrationDatabases {
  legacy: string;
  customer: string;
  identity: string;
  orderView: string;
  catalog: string;
  pricing: string;
  inventory: string;
}

export interface DriftReport {
  at: string;
  /** 0 when every customer, order and product of the monolith is present and equal in the services. */
  drift: number;
  /** How many times it looked again, a second apart, before the drift that is left stayed. */
  rechecks: number;
  /** Rows the monolith changed within the settle window: on their way, left out of the comparison. */
  inFlight: number;
  tables: {
    /** Monolith customers → customer's profiles (email, name, address, created and updated times). */
    customers: TableDrift;
    /** Monolith customers → identity's accounts (email). */
    accounts: TableDrift;
    /** Monolith orders → order-view's summaries (customer, status, total, lines). */
    orders: TableDrift;
    /** Monolith products → catalog's products (SKU, name, updated time). */
    products: TableDrift;
    /** Monolith products → pricing's list prices (SKU, price). */
    prices: TableDrift;
    /** Monolith stock → inventory's copy of its shelf (SKU, quantity). */
    stock: TableDrift;
  };
  /** Sum of the monolith's order totals and of the summaries' (cents). */
  totals: { legacy: number; orderView: number };
}

const statusCase = Object.entries(legacyOrderStatus)
  .map(([legacy, service]) => `WHEN '${legacy}' THEN '${service}'`)
  .join(' ');

/** A customer as both sides hold it: the same columns in the monolith and in customer's profiles. */
const customerFields = `email || '|' || name || '|' || address || '|' ||
  date_trunc('milliseconds', created_at)::text || '|' || date_trunc('milliseconds', updated_at)::text`;

const queries = {
  // $1: the settle window in ms; a row changed within it is in flight, not compared.
  // Timestamps to the millisecond: the capture carries them as JavaScript dates.
  legacyCustomers: `SELECT 'usr_legacy_' || id AS key, ${customerFields} AS fields,
      updated_at > now() - $1 * interval '1 millisecond' AS recent FROM customers`,
  legacyAccounts: `SELECT 'usr_legacy_' || id AS key, lower(email) AS fields,
      updated_at > now() - $1 * interval '1 millisecond' AS recent FROM customers`,
  legacyOrders: `SELECT 'ord_legacy_' || o.id AS key,
      'usr_legacy_' || o.customer_id || '|' || (CASE o.status ${statusCase} ELSE o.status END) || '|' ||
      o.total_cents || '|' || (SELECT count(*) FROM order_lines AS l WHERE l.order_id = o.id) AS fields,
      o.updated_at > now() - $1 * interval '1 millisecond' AS recent
    FROM orders AS o`,
  // SKUs as the services spell them (trimmed, upper case), names as the catalog keeps them (trimmed).
  legacyProducts: `SELECT 'prd_legacy_' || id AS key,
      upper(btrim(sku)) || '|' || btrim(name) || '|' || date_trunc('milliseconds', updated_at)::text AS fields,
      updated_at > now() - $1 * interval '1 millisecond' AS recent FROM products`,
  legacyPrices: `SELECT 'prd_legacy_' || id AS key, upper(btrim(sku)) || '|' || price_cents AS fields,
      updated_at > now() - $1 * interval '1 millisecond' AS recent FROM products`,
  legacyStock: `SELECT 'prd_legacy_' || s.product_id AS key, upper(btrim(p.sku)) || '|' || s.quantity AS fields,
      greatest(s.updated_at, p.updated_at) > now() - $1 * interval '1 millisecond' AS recent
    FROM stock AS s JOIN products AS p ON p.id = s.product_id`,
  legacyTotal: 'SELECT coalesce(sum(total_cents), 0)::text AS total FROM orders',
  customers: `SELECT id AS key, ${customerFields} AS fields FROM customers WHERE id LIKE 'usr\\_legacy\\_%'`,
  accounts: `SELECT id AS key, email AS fields FROM users WHERE id LIKE 'usr\\_legacy\\_%'`,
  orders: `SELECT order_id AS key, customer_id || '|' || status || '|' || total_minor || '|' || jsonb_array_length(lines) AS fields
    FROM order_summaries WHERE order_id LIKE 'ord\\_legacy\\_%'`,
  products: `SELECT id AS key, sku || '|' || name || '|' || date_trunc('milliseconds', updated_at)::text AS fields
    FROM products WHERE id LIKE 'prd\\_legacy\\_%'`,
  prices: `SELECT l.product_id AS key, l.sku || '|' || p.amount_minor AS fields
    FROM legacy_prices AS l JOIN prices AS p ON p.sku = l.sku`,
  stock: `SELECT product_id AS key, sku || '|' || quantity AS fields
    FROM legacy_stock WHERE sku IS NOT NULL AND quantity IS NOT NULL`,
  orderViewTotal: `SELECT coalesce(sum(total_minor), 0)::text AS total FROM order_summaries WHERE order_id LIKE 'ord\\_legacy\\_%'`,
};

/** One connection to `url` for `work`, closed after it (the migration's tools read several databases). */
export async function withClient<T>(
  url: string,
  work: (client: pg.Client) => Promise<T>,
  applicationName = 'mercato-drift-checker',
): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: applicationName });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

const fingerprints = async (client: pg.Client, sql: string): Promise<Fingerprints> => {
  const { rows } = await client.query<{ key: string; fields: string }>(sql);
  return new Map(rows.map((row) => [row.key, row.fields]));
};

/** The monolith's rows, and the keys of those changed within the settle window (left out of both sides). */
const sourceRows = async (client: pg.Client, sql: string, settleMs: number) => {
  const { rows } = await client.query<{ key: string; fields: string; recent: boolean }>(sql, [settleMs]);
  const recent = new Set(rows.filter((row) => row.recent).map((row) => row.key));
  return { rows: new Map(rows.filter((row) => !row.recent).map((row) => [row.key, row.fields])), recent };
};

const without = (rows: Fingerprints, keys: Set<string>): Fingerprints =>
  new Map([...rows].filter(([key]) => !keys.has(key)));

async function checkOnce(
  databases: MigrationDatabases,
  settleMs: number,
): Promise<Omit<DriftReport, 'rechecks'>> {
  // The services first, then the monolith: a row changed or added in between is in the monolith as
  // changed within the settle window, and left out on both sides. (The other way round, a row the
  // monolith added after it was read, already taken over, showed as one only the services have.)
  const customers = await withClient(databases.customer, (client) => fingerprints(client, queries.customers));
  const accounts = await withClient(databases.identity, (client) => fingerprints(client, queries.accounts));
  const view = await withClient(databases.orderView, async (client) => ({
    orders: await fingerprints(client, queries.orders),
    total: Number((await client.query<{ total: string }>(queries.orderViewTotal)).rows[0]?.total ?? 0),
  }));
  const products = await withClient(databases.catalog, (client) => fingerprints(client, queries.products));
  const prices = await withClient(databases.pricing, (client) => fingerprints(client, queries.prices));
  const stock = await withClient(databases.inventory, (client) => fingerprints(client, queries.stock));
  const legacy = await withClient(databases.legacy, async (client) => ({
    customers: await sourceRows(client, queries.legacyCustomers, settleMs),
    accounts: await sourceRows(client, queries.legacyAccounts, settleMs),
    orders: await sourceRows(client, queries.legacyOrders, settleMs),
    products: await sourceRows(client, queries.legacyProducts, settleMs),
    prices: await sourceRows(client, queries.legacyPrices, settleMs),
    stock: await sourceRows(client, queries.legacyStock, settleMs),
    total: Number((await client.query<{ total: string }>(queries.legacyTotal)).rows[0]?.total ?? 0),
  }));
  const tables = {
    customers: compareRows(legacy.customers.rows, without(customers, legacy.customers.recent)),
    accounts: compareRows(legacy.accounts.rows, without(accounts, legacy.accounts.recent)),
    orders: compareRows(legacy.orders.rows, without(view.orders, legacy.orders.recent)),
    products: compareRows(legacy.products.rows, without(products, legacy.products.recent)),
    prices: compareRows(legacy.prices.rows, without(prices, legacy.prices.recent)),
    stock: compareRows(legacy.stock.rows, without(stock, legacy.stock.recent)),
  };
  return {
    at: new Date().toISOString(),
    inFlight:
      legacy.customers.recent.size +
      legacy.orders.recent.size +
      legacy.products.recent.size +
      legacy.stock.recent.size,
    drift: Object.values(tables).reduce((sum, table) => sum + driftOf(table), 0),
    tables,
    totals: { legacy: legacy.total, orderView: view.total },
  };
}

/**
 * Compares every customer, order and product of the monolith with the services' copies, row by row (counts,
 * sums and each record's fields), while the migration runs. A row the monolith changed within
 * `settleMs` is on its way (captured, on the bus, being folded) and left out on both sides; what
 * else differs may still be a change just arriving, so drift is looked at again up to `rechecks`
 * times a second apart, and what stays is reported.
 */
export async function checkDrift(
  databases: MigrationDatabases,
  options: { rechecks?: number; settleMs?: number } = {},
): Promise<DriftReport> {
  const settleMs = options.settleMs ?? 5_000;
  let report = await checkOnce(databases, settleMs);
  let rechecks = 0;
  while (report.drift > 0 && rechecks < (options.rechecks ?? 3)) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    report = await checkOnce(databases, settleMs);
    rechecks += 1;
  }
  return { ...report, rechecks };
}
