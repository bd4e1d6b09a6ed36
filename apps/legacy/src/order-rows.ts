import type { PoolClient } from '@mercato/chassis';
import type { OrderJson } from './legacy-schemas.ts';
import type { OrderStatus } from './order-status.ts';

type Queryable = Pick<PoolClient, 'query'>;

interface OrderRow {
  id: number;
  customer_id: number;
  status: OrderStatus;
  total_cents: number;
  placed_at: Date;
  updated_at: Date;
  lines: OrderJson['lines'];
}

// An order and its lines in one statement, so a read sees both from one snapshot.
const SELECT_ORDERS = `
  SELECT o.id, o.customer_id, o.status, o.total_cents, o.placed_at, o.updated_at,
         coalesce((SELECT json_agg(json_build_object('lineNo', l.line_no, 'productId', l.product_id,
                                                     'quantity', l.quantity, 'unitPriceCents', l.unit_price_cents)
                                   ORDER BY l.line_no)
                   FROM order_lines AS l WHERE l.order_id = o.id), '[]'::json) AS lines
  FROM orders AS o`;

const orderJson = (row: OrderRow): OrderJson => ({
  id: row.id,
  customerId: row.customer_id,
  status: row.status,
  totalCents: row.total_cents,
  placedAt: row.placed_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
  lines: row.lines,
});

/** One order with its lines, or undefined. */
export async function selectOrder(client: Queryable, id: number): Promise<OrderJson | undefined> {
  const { rows } = await client.query<OrderRow>(`${SELECT_ORDERS} WHERE o.id = $1`, [id]);
  return rows[0] && orderJson(rows[0]);
}

/** A customer's latest orders with their lines, newest first. */
export async function selectCustomerOrders(
  client: Queryable,
  customerId: number,
  limit: number,
): Promise<OrderJson[]> {
  const { rows } = await client.query<OrderRow>(
    `${SELECT_ORDERS} WHERE o.customer_id = $1 ORDER BY o.placed_at DESC, o.id DESC LIMIT $2`,
    [customerId, limit],
  );
  return rows.map(orderJson);
}

/**
 * Whether the customer exists. Placing an order holds the row with KEY SHARE (as the order's foreign
 * key will) so it cannot go away before commit; a read takes no lock.
 */
export async function customerExists(client: Queryable, id: number, hold = false): Promise<boolean> {
  const { rowCount } = await client.query(
    `SELECT 1 FROM customers WHERE id = $1${hold ? ' FOR KEY SHARE' : ''}`,
    [id],
  );
  return rowCount === 1;
}
