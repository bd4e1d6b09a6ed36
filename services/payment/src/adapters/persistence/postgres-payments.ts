import { newId, type Pool, type Transaction } from '@mercato/chassis';
import type {
  NewPayment,
  Payment,
  PaymentStore,
  RefundRecord,
} from '../../application/payment-store.port.ts';

interface PaymentRow {
  order_id: string;
  payment_id: string;
  customer_id: string;
  status: Payment['status'];
  amount_minor: number;
  currency: string;
  provider_payment_id: string | null;
  captured_minor: number;
  refunded_minor: number;
  reason: string | null;
}

/** Named, not `*`: the statements stay prepared (a `*` read is never prepared; see the chassis pool). */
const COLUMNS = `order_id, payment_id, customer_id, status, amount_minor, currency, provider_payment_id,
  captured_minor, refunded_minor, reason`;

const toPayment = (row: PaymentRow): Payment => ({
  orderId: row.order_id,
  paymentId: row.payment_id,
  customerId: row.customer_id,
  status: row.status,
  amountMinor: row.amount_minor,
  currency: row.currency,
  providerPaymentId: row.provider_payment_id,
  capturedMinor: row.captured_minor,
  refundedMinor: row.refunded_minor,
  reason: row.reason,
});

export class PostgresPayments implements PaymentStore {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async lockOrCreate(transaction: Transaction, seed: NewPayment): Promise<Payment> {
    await transaction.query(
      `INSERT INTO payments (order_id, payment_id, customer_id, status, amount_minor, currency, reason)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (order_id) DO NOTHING`,
      [
        seed.orderId,
        newId('pay'),
        seed.customerId,
        seed.status,
        seed.amountMinor,
        seed.currency,
        seed.reason,
      ],
    );
    const { rows } = await transaction.query<PaymentRow>(
      `SELECT ${COLUMNS} FROM payments WHERE order_id = $1 FOR UPDATE`,
      [seed.orderId],
    );
    return toPayment(rows[0] as PaymentRow);
  }

  async lock(transaction: Transaction, orderId: string): Promise<Payment> {
    const { rows } = await transaction.query<PaymentRow>(
      `SELECT ${COLUMNS} FROM payments WHERE order_id = $1 FOR UPDATE`,
      [orderId],
    );
    const row = rows[0];
    if (!row) throw new Error(`payment of order ${orderId} vanished between its intent and its outcome`);
    return toPayment(row);
  }

  async update(transaction: Transaction, payment: Payment): Promise<void> {
    await transaction.query(
      `UPDATE payments SET status = $2, provider_payment_id = $3, captured_minor = $4, refunded_minor = $5,
              reason = $6, updated_at = now()
        WHERE order_id = $1`,
      [
        payment.orderId,
        payment.status,
        payment.providerPaymentId,
        payment.capturedMinor,
        payment.refundedMinor,
        payment.reason,
      ],
    );
  }

  async addRefund(
    transaction: Transaction,
    orderId: string,
    refund: RefundRecord & { providerPaymentId: string },
  ): Promise<boolean> {
    const { rowCount } = await transaction.query(
      `INSERT INTO refunds (refund_id, order_id, provider_refund_id, provider_payment_id, amount_minor, created_at)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (provider_refund_id) DO NOTHING`,
      [
        refund.refundId,
        orderId,
        refund.providerRefundId,
        refund.providerPaymentId,
        refund.amountMinor,
        refund.createdAt,
      ],
    );
    return rowCount === 1;
  }

  async get(orderId: string): Promise<{ payment: Payment; refunds: RefundRecord[] } | undefined> {
    const { rows } = await this.#pool.query<PaymentRow>(
      `SELECT ${COLUMNS} FROM payments WHERE order_id = $1`,
      [orderId],
    );
    const row = rows[0];
    if (!row) return undefined;
    const { rows: refunds } = await this.#pool.query<{
      refund_id: string;
      provider_refund_id: string;
      amount_minor: number;
      created_at: Date;
    }>(
      'SELECT refund_id, provider_refund_id, amount_minor, created_at FROM refunds WHERE order_id = $1 ORDER BY created_at',
      [orderId],
    );
    return {
      payment: toPayment(row),
      refunds: refunds.map((refund) => ({
        refundId: refund.refund_id,
        providerRefundId: refund.provider_refund_id,
        amountMinor: refund.amount_minor,
        createdAt: refund.created_at,
      })),
    };
  }
}
