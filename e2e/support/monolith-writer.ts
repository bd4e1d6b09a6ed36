import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

/** A row change a writer transaction made, as the change stream should show it. */
export interface ExpectedChange {
  table: 'customers' | 'orders' | 'order_lines' | 'stock';
  op: 'insert' | 'update';
  key: Record<string, string>;
}

/** One transaction the writer tried, and what it knows of its fate. */
export interface WriterTransaction {
  index: number;
  kind: 'customer' | 'update' | 'order';
  /** Its xid (`pg_current_xact_id()`), once it had one. */
  xid?: bigint;
  /** `ambiguous`: the connection went while COMMIT was under way; `resolve` reads what happened. */
  outcome: 'committed' | 'ambiguous' | 'failed';
  /** After `resolve`: whether the monolith has it, by its own record of the xid. */
  committed?: boolean;
  changes: ExpectedChange[];
  /** The marker customer it inserted (`w<n>@crash.example`). */
  email?: string;
}

export interface MonolithWriter {
  transactions: WriterTransaction[];
  /** Stops after the transactions under way; every one still unknown is then resolved. */
  stop: () => Promise<WriterTransaction[]>;
}

const MARKER_DOMAIN = 'crash.example';
export const isMarkerEmail = (email: unknown): boolean =>
  typeof email === 'string' && email.endsWith(`@${MARKER_DOMAIN}`);

/**
 * The monolith at work during a crash test: `workers` connections committing small transactions
 * at `perSecond` in all, as its request handlers would. Half insert a customer with a unique marker
 * email, a fifth rename one of them, the rest place an order with 1–3 lines and take its stock (in
 * product order, so workers never deadlock). Several connections commit side by side, so commit
 * records sit back to back in the log as they do on a busy monolith. It writes through PostgreSQL
 * being killed: a lost connection is opened again, and a COMMIT whose answer was lost is recorded
 * as ambiguous, to be settled from the monolith's own record of the transaction (`pg_xact_status`).
 */
export async function startMonolithWriter(options: {
  url: string;
  workers: number;
  perSecond: number;
  random: () => number;
}): Promise<MonolithWriter> {
  const transactions: WriterTransaction[] = [];
  const setup = new pg.Client({ connectionString: options.url });
  await setup.connect();
  const { rows: products } = await setup.query<{ id: string; price_cents: number }>(
    'SELECT id::text, price_cents FROM products ORDER BY id',
  );
  await setup.end();
  let running = true;
  let next = 0;
  const { random } = options;

  const transaction = async (client: pg.Client, own: string[], tx: WriterTransaction) => {
    await client.query('BEGIN');
    const { rows } = await client.query<{ xid: string }>('SELECT pg_current_xact_id()::text AS xid');
    tx.xid = BigInt(rows[0]?.xid ?? '0');
    if (tx.kind === 'update' && own.length > 0) {
      const id = own[Math.floor(random() * own.length)] as string;
      const renamed = await client.query(
        `UPDATE customers SET name = $2, address = $3, updated_at = now() WHERE id = $1`,
        [id, `Renamed ${tx.index}`, `${tx.index} Crash Street`],
      );
      if (renamed.rowCount === 1) tx.changes.push({ table: 'customers', op: 'update', key: { id } });
    } else if (tx.kind === 'order') {
      const picked = new Set<number>();
      const lines = 1 + Math.floor(random() * 3);
      while (picked.size < lines) picked.add(Math.floor(random() * products.length));
      const chosen = [...picked].sort((a, b) => a - b).map((index) => products[index] as (typeof products)[0]);
      const quantities = chosen.map(() => 1 + Math.floor(random() * 3));
      const total = chosen.reduce((sum, product, index) => sum + product.price_cents * (quantities[index] ?? 1), 0);
      const placed = await client.query<{ id: string }>(
        `INSERT INTO orders (customer_id, status, total_cents) VALUES ($1, 'placed', $2) RETURNING id::text`,
        [1 + Math.floor(random() * 5_000), total],
      );
      const orderId = placed.rows[0]?.id as string;
      tx.changes.push({ table: 'orders', op: 'insert', key: { id: orderId } });
      await client.query(
        `INSERT INTO order_lines (order_id, line_no, product_id, quantity, unit_price_cents)
         SELECT $1, line_no, product_id, quantity, price
         FROM unnest($2::bigint[], $3::int[], $4::int[]) WITH ORDINALITY AS l(product_id, quantity, price, line_no)
         ORDER BY line_no`,
        [orderId, chosen.map((product) => product.id), quantities, chosen.map((product) => product.price_cents)],
      );
      chosen.forEach((_, index) =>
        tx.changes.push({
          table: 'order_lines',
          op: 'insert',
          key: { order_id: orderId, line_no: String(index + 1) },
        }),
      );
      for (const [index, product] of chosen.entries()) {
        const taken = await client.query(
          'UPDATE stock SET quantity = quantity - $2, updated_at = now() WHERE product_id = $1 AND quantity >= $2',
          [product.id, quantities[index]],
        );
        if (taken.rowCount === 1)
          tx.changes.push({ table: 'stock', op: 'update', key: { product_id: product.id } });
      }
    } else {
      tx.kind = 'customer';
      tx.email = `w${tx.index}@${MARKER_DOMAIN}`;
      const inserted = await client.query<{ id: string }>(
        `INSERT INTO customers (email, name, password_hash) VALUES ($1, $2, 'sha256$s$x') RETURNING id::text`,
        [tx.email, `Writer ${tx.index}`],
      );
      tx.changes.push({ table: 'customers', op: 'insert', key: { id: inserted.rows[0]?.id as string } });
    }
    tx.outcome = 'ambiguous';
    await client.query('COMMIT');
    tx.outcome = 'committed';
    if (tx.kind === 'customer') own.push(tx.changes[0]?.key.id as string);
  };

  const worker = async () => {
    const own: string[] = [];
    const interval = (options.workers * 1_000) / options.perSecond;
    let client: pg.Client | undefined;
    let due = Date.now() + random() * interval;
    while (running) {
      // Paced, without a burst to make up for an outage: at most one interval of catching up.
      due = Math.max(due + interval, Date.now() - interval);
      if (due > Date.now()) await sleep(due - Date.now());
      if (!running) break;
      if (!client) {
        const fresh = new pg.Client({ connectionString: options.url, connectionTimeoutMillis: 2_000 });
        fresh.on('error', () => undefined); // the query in flight fails too, and is handled below
        try {
          await fresh.connect();
          client = fresh;
        } catch {
          await fresh.end().catch(() => undefined);
          continue; // PostgreSQL is away or still recovering
        }
      }
      const roll = random();
      const tx: WriterTransaction = {
        index: next++,
        kind: roll < 0.5 ? 'customer' : roll < 0.7 ? 'update' : 'order',
        outcome: 'failed',
        changes: [],
      };
      transactions.push(tx);
      try {
        await transaction(client, own, tx);
      } catch {
        await client.end().catch(() => undefined);
        client = undefined;
      }
    }
    await client?.end().catch(() => undefined);
  };

  const workers = Array.from({ length: options.workers }, worker);
  return {
    transactions,
    stop: async () => {
      running = false;
      await Promise.all(workers);
      await resolve(options.url, transactions);
      return transactions;
    },
  };
}

/** Settles every transaction from the monolith's record of its xid: committed or not. */
async function resolve(url: string, transactions: WriterTransaction[]): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const xids = transactions.flatMap((tx) => (tx.xid === undefined ? [] : [tx.xid.toString()]));
    const { rows } = await client.query<{ xid: string; status: string | null }>(
      'SELECT xid::text, pg_xact_status(xid::xid8) AS status FROM unnest($1::text[]) AS xid',
      [xids],
    );
    const status = new Map(rows.map((row) => [row.xid, row.status]));
    for (const tx of transactions)
      tx.committed = tx.xid !== undefined && status.get(tx.xid.toString()) === 'committed';
  } finally {
    await client.end();
  }
}
