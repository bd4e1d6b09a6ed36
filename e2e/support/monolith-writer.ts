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
  /** `ambiguous`: the connection went while COMMIT was under way; `stop` reads what happened. */
  outcome: 'committed' | 'ambiguous' | 'failed';
  /** After `stop`: whether the monolith has it, by its own record of the xid. */
  committed?: boolean;
  /**
   * After `stop`: its xid was given to a later transaction. A crash loses the xids whose log never
   * reached the disk and the server hands them out again: such a transaction never committed.
   */
  xidReused?: boolean;
  changes: ExpectedChange[];
  /** The marker customer it inserted (`w<n>@crash.example`). */
  email?: string;
}

export interface MonolithWriter {
  transactions: WriterTransaction[];
  /** Stops after the transactions under way; then settles each one from the monolith's record. */
  stop: () => Promise<WriterTransaction[]>;
}

const MARKER_DOMAIN = 'crash.example';
export const isMarkerEmail = (email: unknown): boolean =>
  typeof email === 'string' && email.endsWith(`@${MARKER_DOMAIN}`);

interface Lane {
  id: number;
  client?: pg.Client;
  /** Marker customers this lane's committed transactions inserted, for its updates. */
  customers: string[];
}

/**
 * The monolith at work during a crash test: `connections` connections committing small
 * transactions, `perSecond` in all, as its request handlers would. Half insert a customer with a
 * unique marker email, a fifth rename one of those, the rest place an order with 1–3 lines and take
 * its stock. The connections go in pairs whose two transactions COMMIT at the same moment, so their
 * commit records sit back to back in the log, as on a busy monolith (a reader that resumed one
 * byte too far would lose the second). Each connection has its own products, so no transaction
 * ever waits for another. It writes through PostgreSQL being killed: a lost connection is opened
 * again, and a COMMIT whose answer was lost is settled from the monolith's record of the xid.
 */
export async function startMonolithWriter(options: {
  url: string;
  connections: number;
  perSecond: number;
  random: () => number;
}): Promise<MonolithWriter> {
  const transactions: WriterTransaction[] = [];
  const setup = new pg.Client({ connectionString: options.url });
  await setup.connect();
  const { rows: products } = await setup.query<{ id: string; price_cents: number }>(
    'SELECT id::text, price_cents FROM products ORDER BY products.id',
  );
  await setup.end();
  let running = true;
  let next = 0;
  const { random, connections } = options;

  /** BEGIN and the statements, not the COMMIT; records each change as it is made. */
  const prepare = async (lane: Lane, client: pg.Client, tx: WriterTransaction) => {
    await client.query('BEGIN');
    const { rows } = await client.query<{ xid: string }>('SELECT pg_current_xact_id()::text AS xid');
    tx.xid = BigInt(rows[0]?.xid ?? '0');
    if (tx.kind === 'update' && lane.customers.length > 0) {
      const id = lane.customers[Math.floor(random() * lane.customers.length)] as string;
      const renamed = await client.query(
        'UPDATE customers SET name = $2, address = $3, updated_at = now() WHERE id = $1',
        [id, `Renamed ${tx.index}`, `${tx.index} Crash Street`],
      );
      if (renamed.rowCount === 1) tx.changes.push({ table: 'customers', op: 'update', key: { id } });
    } else if (tx.kind === 'order') {
      // This lane's products only, in id order.
      const own = products.filter((_, index) => index % connections === lane.id);
      const picked = new Set<number>();
      const lines = 1 + Math.floor(random() * 3);
      while (picked.size < lines) picked.add(Math.floor(random() * own.length));
      const chosen = [...picked].sort((a, b) => a - b).map((index) => own[index] as (typeof own)[0]);
      const quantities = chosen.map(() => 1 + Math.floor(random() * 3));
      const total = chosen.reduce(
        (sum, product, index) => sum + product.price_cents * (quantities[index] ?? 1),
        0,
      );
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
        [
          orderId,
          chosen.map((product) => product.id),
          quantities,
          chosen.map((product) => product.price_cents),
        ],
      );
      for (const [index] of chosen.entries())
        tx.changes.push({
          table: 'order_lines',
          op: 'insert',
          key: { order_id: orderId, line_no: String(index + 1) },
        });
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
  };

  const commit = async (lane: Lane, client: pg.Client, tx: WriterTransaction) => {
    tx.outcome = 'ambiguous';
    await client.query('COMMIT');
    tx.outcome = 'committed';
    if (tx.kind === 'customer') lane.customers.push(tx.changes[0]?.key.id as string);
  };

  const connect = async (lane: Lane): Promise<pg.Client | undefined> => {
    if (lane.client) return lane.client;
    const client = new pg.Client({
      connectionString: options.url,
      connectionTimeoutMillis: 2_000,
      query_timeout: 10_000,
    });
    client.on('error', () => undefined); // the query in flight fails too, and is handled there
    try {
      await client.connect();
      lane.client = client;
      return client;
    } catch {
      await client.end().catch(() => undefined);
      return undefined; // PostgreSQL is away or still recovering: this lane sits out a turn
    }
  };

  /** One turn of a pair: a transaction on each lane, prepared side by side, committed together. */
  const turn = async (pair: Lane[]) => {
    const work = await Promise.all(
      pair.map(async (lane) => {
        const client = await connect(lane);
        if (!client) return undefined;
        const roll = random();
        const tx: WriterTransaction = {
          index: next++,
          kind: roll < 0.5 ? 'customer' : roll < 0.7 ? 'update' : 'order',
          outcome: 'failed',
          changes: [],
        };
        transactions.push(tx);
        return { lane, client, tx };
      }),
    );
    const step = async (item: (typeof work)[0], action: typeof prepare) => {
      if (!item?.lane.client) return;
      try {
        await action(item.lane, item.client, item.tx);
      } catch {
        item.lane.client = undefined;
        await item.client.end().catch(() => undefined);
      }
    };
    await Promise.all(work.map((item) => step(item, prepare)));
    await Promise.all(work.map((item) => step(item, commit)));
  };

  const pairs = Array.from({ length: connections / 2 }, (_, index): Lane[] => [
    { id: 2 * index, customers: [] },
    { id: 2 * index + 1, customers: [] },
  ]);
  const looping = pairs.map(async (pair) => {
    const interval = (connections * 1_000) / options.perSecond;
    let due = Date.now() + random() * interval;
    while (running) {
      // Paced, with no burst to make up for an outage: at most one interval of catching up.
      due = Math.max(due + interval, Date.now() - interval);
      if (due > Date.now()) await sleep(due - Date.now());
      if (running) await turn(pair);
    }
    await Promise.all(pair.map((lane) => lane.client?.end().catch(() => undefined)));
  });
  return {
    transactions,
    stop: async () => {
      running = false;
      await Promise.all(looping);
      await settle(options.url, transactions);
      return transactions;
    },
  };
}

/**
 * Settles every transaction from the monolith's record of its xid: committed or not. Of those that
 * share an xid (handed out again after a crash) the record is the last one's.
 */
async function settle(url: string, transactions: WriterTransaction[]): Promise<void> {
  const owner = new Map<bigint, WriterTransaction>();
  for (const tx of [...transactions].sort((a, b) => a.index - b.index))
    if (tx.xid !== undefined) owner.set(tx.xid, tx);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const xids = [...owner.keys()].map(String);
    const { rows } = await client.query<{ xid: string; status: string | null }>(
      'SELECT xid, pg_xact_status(xid::xid8) AS status FROM unnest($1::text[]) AS xid',
      [xids],
    );
    const status = new Map(rows.map((row) => [row.xid, row.status]));
    for (const tx of transactions) {
      if (tx.xid === undefined) continue;
      tx.xidReused = owner.get(tx.xid) !== tx;
      tx.committed = !tx.xidReused && status.get(tx.xid.toString()) === 'committed';
    }
  } finally {
    await client.end();
  }
}
