import { inTransaction, type Pool, type Transaction } from '@mercato/chassis';
import { assertMonolithWrites } from './legacy-capabilities.ts';
import { legacyErrors, type Shortage } from './legacy-errors.ts';
import type { NewOrder, OrderJson } from './legacy-schemas.ts';
import { customerExists, selectCustomerOrders, selectOrder } from './order-rows.ts';
import { moveOrder, type OrderStatus } from './order-status.ts';

/** total_cents is an `integer` column. */
const MAX_TOTAL_CENTS = 2_147_483_647;

interface ShelfRow {
  product_id: number;
  quantity: number;
  price_cents: number;
}

/**
 * Orders as the monolith takes them: stock checked, taken and the order written in one transaction;
 * each status move in one more, a cancellation putting the stock back in it. Once orders moved to
 * the services it takes no new one, and still moves those it took.
 */
export class LegacyOrders {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  place(order: NewOrder): Promise<OrderJson> {
    return inTransaction(this.#pool, async (tx) => {
      // Held until the order commits: moving orders to the services waits for it, and refuses later ones.
      await assertMonolithWrites(tx, 'orders');
      if (!(await customerExists(tx, order.customerId, true)))
        throw legacyErrors.unknownCustomer(order.customerId);
      // A product on two lines is taken from the shelf once, for both.
      const wanted = new Map<number, number>();
      for (const line of order.lines)
        wanted.set(line.productId, (wanted.get(line.productId) ?? 0) + line.quantity);
      const productIds = [...wanted.keys()];
      // Locked in product order, as every transaction here takes stock rows: no deadlocks between them.
      const { rows } = await tx.query<ShelfRow>(
        `SELECT s.product_id, s.quantity, p.price_cents
         FROM stock AS s JOIN products AS p ON p.id = s.product_id
         WHERE s.product_id = ANY($1::bigint[]) ORDER BY s.product_id FOR UPDATE OF s`,
        [productIds],
      );
      const shelf = new Map(rows.map((row) => [row.product_id, row]));
      const unknown = productIds.filter((id) => !shelf.has(id));
      if (unknown.length > 0) throw legacyErrors.unknownProducts(unknown);
      const shortages: Shortage[] = rows
        .filter((row) => row.quantity < (wanted.get(row.product_id) ?? 0))
        .map((row) => ({
          productId: row.product_id,
          requested: wanted.get(row.product_id) ?? 0,
          available: row.quantity,
        }));
      if (shortages.length > 0) throw legacyErrors.outOfStock(shortages);

      const priced = order.lines.map((line, index) => ({
        ...line,
        lineNo: index + 1,
        unitPriceCents: shelf.get(line.productId)?.price_cents ?? 0,
      }));
      const total = priced.reduce((sum, line) => sum + line.quantity * line.unitPriceCents, 0);
      if (total > MAX_TOTAL_CENTS) throw legacyErrors.orderTooLarge(total);

      await tx.query(
        `UPDATE stock AS s SET quantity = s.quantity - w.quantity, updated_at = now()
         FROM unnest($1::bigint[], $2::integer[]) AS w (product_id, quantity)
         WHERE s.product_id = w.product_id`,
        [productIds, productIds.map((id) => wanted.get(id))],
      );
      const inserted = await tx.query<{ id: number }>(
        `INSERT INTO orders (customer_id, status, total_cents) VALUES ($1, 'placed', $2) RETURNING id`,
        [order.customerId, total],
      );
      const orderId = (inserted.rows[0] as { id: number }).id;
      await tx.query(
        `INSERT INTO order_lines (order_id, line_no, product_id, quantity, unit_price_cents)
         SELECT $1, l.line_no, l.product_id, l.quantity, l.unit_price_cents
         FROM unnest($2::integer[], $3::bigint[], $4::integer[], $5::integer[])
              AS l (line_no, product_id, quantity, unit_price_cents)`,
        [
          orderId,
          priced.map((line) => line.lineNo),
          priced.map((line) => line.productId),
          priced.map((line) => line.quantity),
          priced.map((line) => line.unitPriceCents),
        ],
      );
      return this.#load(tx, orderId);
    });
  }

  /** Moves an order along its life; a cancellation puts its stock back. */
  move(id: number, to: OrderStatus): Promise<OrderJson> {
    return inTransaction(this.#pool, async (tx) => {
      const { rows } = await tx.query<{ status: OrderStatus }>(
        'SELECT status FROM orders WHERE id = $1 FOR UPDATE',
        [id],
      );
      const current = rows[0];
      if (!current) throw legacyErrors.notFound('Order', id);
      const moved = moveOrder(current.status, to);
      if (!moved.ok) throw legacyErrors.badTransition(moved.error.from, moved.error.to);
      await tx.query('UPDATE orders SET status = $2, updated_at = now() WHERE id = $1', [
        id,
        moved.value.status,
      ]);
      if (moved.value.restock) await restock(tx, [id]);
      return this.#load(tx, id);
    });
  }

  /**
   * The back office's batch: moves each order one step to `to`, in id order (as rows are locked
   * everywhere here), all in one transaction; one that cannot move fails the whole batch.
   */
  moveMany(ids: readonly number[], to: OrderStatus): Promise<number> {
    return inTransaction(this.#pool, async (tx) => {
      const { rows } = await tx.query<{ id: string; status: OrderStatus }>(
        'SELECT id::text AS id, status FROM orders WHERE id = ANY($1::bigint[]) ORDER BY orders.id FOR UPDATE',
        [ids],
      );
      const found = new Set(rows.map((row) => Number(row.id)));
      const missing = ids.find((id) => !found.has(id));
      if (missing !== undefined) throw legacyErrors.notFound('Order', missing);
      for (const row of rows) {
        const moved = moveOrder(row.status, to);
        if (!moved.ok) throw legacyErrors.badTransition(moved.error.from, moved.error.to, Number(row.id));
      }
      await tx.query('UPDATE orders SET status = $2, updated_at = now() WHERE id = ANY($1::bigint[])', [
        ids,
        to,
      ]);
      if (to === 'cancelled') await restock(tx, ids);
      return rows.length;
    });
  }

  /**
   * The ids of orders in `status`, after `after`, in id order: the back office's work list, paged by
   * the last id. Ordered by the column: a bare `id` would name the text output column, and as text
   * 10 sorts before 9, so a page after 10 would skip 9.
   */
  async idsIn(status: OrderStatus, after: number, limit: number): Promise<number[]> {
    const { rows } = await this.#pool.query<{ id: string }>(
      'SELECT id::text AS id FROM orders WHERE status = $1 AND id > $2 ORDER BY orders.id LIMIT $3',
      [status, after, limit],
    );
    return rows.map((row) => Number(row.id));
  }

  async find(id: number): Promise<OrderJson> {
    const order = await selectOrder(this.#pool, id);
    if (!order) throw legacyErrors.notFound('Order', id);
    return order;
  }

  byCustomer(customerId: number, limit: number): Promise<OrderJson[]> {
    return inTransaction(this.#pool, async (tx) => {
      if (!(await customerExists(tx, customerId))) throw legacyErrors.notFound('Customer', customerId);
      return selectCustomerOrders(tx, customerId, limit);
    });
  }

  async #load(tx: Transaction, id: number): Promise<OrderJson> {
    const order = await selectOrder(tx, id);
    if (!order) throw new Error(`order ${id} vanished inside its own transaction`);
    return order;
  }
}

/** Puts cancelled orders' quantities back on the shelf, locking stock rows in product order first. */
async function restock(tx: Transaction, orderIds: readonly number[]): Promise<void> {
  await tx.query(
    `SELECT 1 FROM stock
     WHERE product_id IN (SELECT product_id FROM order_lines WHERE order_id = ANY($1::bigint[]))
     ORDER BY product_id FOR UPDATE`,
    [orderIds],
  );
  await tx.query(
    `UPDATE stock AS s SET quantity = s.quantity + l.quantity, updated_at = now()
     FROM (SELECT product_id, sum(quantity)::integer AS quantity
           FROM order_lines WHERE order_id = ANY($1::bigint[]) GROUP BY product_id) AS l
     WHERE s.product_id = l.product_id`,
    [orderIds],
  );
}
