import type { Pool, Transaction } from '@mercato/chassis';
import type { Claim, OrderRequests } from '../../application/order-ports.ts';

/**
 * A claim older than this whose request never finished (its process died) may be taken over: longer
 * than the edge's deadline (5 s). Taking over is safe even if the first is still running: the claim
 * fixes the order id, so only one of them can append the order's first event.
 */
const ABANDONED_AFTER = '6 seconds';

export class PostgresOrderRequests implements OrderRequests {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async claim(customerId: string, key: string, requestHash: string, orderId: string): Promise<Claim> {
    const inserted = await this.#pool.query(
      `INSERT INTO order_requests (customer_id, idempotency_key, request_hash, status, order_id)
       VALUES ($1, $2, $3, 'in_flight', $4) ON CONFLICT DO NOTHING`,
      [customerId, key, requestHash, orderId],
    );
    if (inserted.rowCount === 1) return { outcome: 'claimed', orderId };
    const { rows } = await this.#pool.query<{ request_hash: string; status: string; order_id: string }>(
      'SELECT request_hash, status, order_id FROM order_requests WHERE customer_id = $1 AND idempotency_key = $2',
      [customerId, key],
    );
    const row = rows[0];
    // Abandoned between our insert and select: claim it again.
    if (!row) return this.claim(customerId, key, requestHash, orderId);
    if (row.request_hash !== requestHash) return { outcome: 'mismatch' };
    if (row.status === 'done') return { outcome: 'done', orderId: row.order_id };
    const takenOver = await this.#pool.query(
      `UPDATE order_requests SET created_at = now()
        WHERE customer_id = $1 AND idempotency_key = $2 AND status = 'in_flight'
          AND created_at < now() - interval '${ABANDONED_AFTER}'`,
      [customerId, key],
    );
    return takenOver.rowCount === 1
      ? { outcome: 'claimed', orderId: row.order_id }
      : { outcome: 'in_flight' };
  }

  async complete(transaction: Transaction, customerId: string, key: string): Promise<void> {
    await transaction.query(
      `UPDATE order_requests SET status = 'done' WHERE customer_id = $1 AND idempotency_key = $2`,
      [customerId, key],
    );
  }

  async abandon(customerId: string, key: string): Promise<void> {
    await this.#pool.query(
      `DELETE FROM order_requests WHERE customer_id = $1 AND idempotency_key = $2 AND status = 'in_flight'`,
      [customerId, key],
    );
  }
}
