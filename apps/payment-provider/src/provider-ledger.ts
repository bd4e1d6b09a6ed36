import { createHash } from 'node:crypto';
import { inTransaction, newId, type Pool, type Transaction } from '@mercato/chassis';

export interface PaymentIntent {
  id: string;
  object: 'payment_intent';
  order_id: string;
  amount: number;
  currency: string;
  status: 'requires_capture' | 'succeeded' | 'canceled' | 'declined';
  amount_received: number;
  amount_refunded: number;
  decline_code: string | null;
  created: string;
}

export interface ApiAnswer {
  statusCode: number;
  body: Record<string, unknown>;
}

interface IntentRow {
  id: string;
  order_id: string;
  amount: number;
  currency: string;
  status: PaymentIntent['status'];
  amount_received: number;
  amount_refunded: number;
  decline_code: string | null;
  created_at: Date;
}

/** Named, not `*`: the statements stay prepared (a `*` read is never prepared; see the chassis pool). */
const INTENT_COLUMNS =
  'id, order_id, amount, currency, status, amount_received, amount_refunded, decline_code, created_at';

const intentJson = (row: IntentRow): PaymentIntent => ({
  id: row.id,
  object: 'payment_intent',
  order_id: row.order_id,
  amount: row.amount,
  currency: row.currency,
  status: row.status,
  amount_received: row.amount_received,
  amount_refunded: row.amount_refunded,
  decline_code: row.decline_code,
  created: row.created_at.toISOString(),
});

/** The key was written by another request first: this one's work is rolled back and the stored answer replayed. */
class KeyTaken extends Error {
  override name = 'KeyTaken';
}

export const apiError = (statusCode: number, type: string, code: string, message: string): ApiAnswer => ({
  statusCode,
  body: { error: { type, code, message } },
});

/**
 * The provider's books on PostgreSQL, and its idempotency keys: the first answer to a key is stored
 * in the transaction that made it, so a retry replays it and never charges twice.
 */
export class ProviderLedger {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  /**
   * Runs `work` once per idempotency key. A retry with the same request gets the stored answer
   * (`replayed`); the same key with another request is refused. The key is written once, with its
   * answer, after the work and in its transaction: a request whose key another request took meanwhile
   * (a concurrent retry waits on the key's row until that one commits) rolls its own work back and
   * replays the stored answer, so a key still charges once. One write of the key a request, not a
   * placeholder first and the answer after (a statement and a row version fewer).
   */
  async once(
    key: string,
    request: { method: string; path: string; body: unknown },
    work: (transaction: Transaction) => Promise<ApiAnswer>,
  ): Promise<ApiAnswer & { replayed: boolean }> {
    const requestText = `${request.method} ${request.path}`;
    const hash = createHash('sha256')
      .update(`${requestText}\n${JSON.stringify(request.body ?? null)}`)
      .digest('hex');
    const first = await inTransaction(this.#pool, async (transaction) => {
      const answer = await work(transaction);
      const { rowCount } = await transaction.query(
        `INSERT INTO idempotency_keys (key, request, request_hash, status_code, response)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
        [key, requestText, hash, answer.statusCode, JSON.stringify(answer.body)],
      );
      if (rowCount === 0) throw new KeyTaken();
      return answer;
    }).catch((error: unknown) => {
      if (error instanceof KeyTaken) return undefined;
      throw error;
    });
    if (first) return { ...first, replayed: false };
    const { rows } = await this.#pool.query<{
      request_hash: string;
      status_code: number;
      response: Record<string, unknown>;
    }>('SELECT request_hash, status_code, response FROM idempotency_keys WHERE key = $1', [key]);
    const stored = rows[0];
    if (!stored || stored.request_hash !== hash)
      return {
        ...apiError(
          400,
          'idempotency_error',
          'idempotency_key_in_use',
          'Keys for idempotent requests can only be used with the same parameters they were first used with',
        ),
        replayed: false,
      };
    return { statusCode: stored.status_code, body: stored.response, replayed: true };
  }

  async authorize(
    transaction: Transaction,
    input: { orderId: string; amount: number; currency: string; declined: boolean },
  ): Promise<ApiAnswer> {
    const { rows } = await transaction.query<IntentRow>(
      `INSERT INTO payment_intents (id, order_id, amount, currency, status, decline_code)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${INTENT_COLUMNS}`,
      [
        newId('pi'),
        input.orderId,
        input.amount,
        input.currency,
        input.declined ? 'declined' : 'requires_capture',
        input.declined ? 'card_declined' : null,
      ],
    );
    const intent = intentJson(rows[0] as IntentRow);
    if (input.declined)
      return {
        statusCode: 402,
        body: {
          error: {
            type: 'card_error',
            code: 'card_declined',
            message: 'Your card was declined.',
            payment_intent: intent,
          },
        },
      };
    return { statusCode: 200, body: { ...intent } };
  }

  capture(transaction: Transaction, intentId: string): Promise<ApiAnswer> {
    return this.#settle(transaction, intentId, 'succeeded', ', amount_received = amount');
  }

  cancel(transaction: Transaction, intentId: string): Promise<ApiAnswer> {
    return this.#settle(transaction, intentId, 'canceled', '');
  }

  /** An authorized intent captured or cancelled; doing it again answers the intent as it is. */
  async #settle(
    transaction: Transaction,
    intentId: string,
    status: 'succeeded' | 'canceled',
    alsoSet: string,
  ): Promise<ApiAnswer> {
    const intent = await this.#lockIntent(transaction, intentId);
    if (!intent)
      return apiError(
        404,
        'invalid_request_error',
        'resource_missing',
        `No such payment_intent: ${intentId}`,
      );
    if (intent.status === status) return { statusCode: 200, body: { ...intentJson(intent) } };
    if (intent.status !== 'requires_capture')
      return apiError(
        400,
        'invalid_request_error',
        'payment_intent_unexpected_state',
        `PaymentIntent is ${intent.status}`,
      );
    const { rows } = await transaction.query<IntentRow>(
      `UPDATE payment_intents SET status = $2${alsoSet}, updated_at = now() WHERE id = $1 RETURNING ${INTENT_COLUMNS}`,
      [intentId, status],
    );
    return { statusCode: 200, body: { ...intentJson(rows[0] as IntentRow) } };
  }

  async refund(transaction: Transaction, intentId: string, amount: number | undefined): Promise<ApiAnswer> {
    const intent = await this.#lockIntent(transaction, intentId);
    if (!intent)
      return apiError(
        404,
        'invalid_request_error',
        'resource_missing',
        `No such payment_intent: ${intentId}`,
      );
    const refundable = intent.amount_received - intent.amount_refunded;
    const value = amount ?? refundable;
    if (intent.status !== 'succeeded' || value <= 0 || value > refundable)
      return apiError(
        400,
        'invalid_request_error',
        'charge_already_refunded',
        `Nothing to refund (${refundable} left)`,
      );
    const id = newId('re');
    await transaction.query('INSERT INTO refunds (id, payment_intent, amount) VALUES ($1, $2, $3)', [
      id,
      intentId,
      value,
    ]);
    await transaction.query(
      'UPDATE payment_intents SET amount_refunded = amount_refunded + $2, updated_at = now() WHERE id = $1',
      [intentId, value],
    );
    return {
      statusCode: 200,
      body: {
        id,
        object: 'refund',
        amount: value,
        currency: intent.currency,
        payment_intent: intentId,
        status: 'succeeded',
      },
    };
  }

  async intentsOf(orderId: string): Promise<PaymentIntent[]> {
    const { rows } = await this.#pool.query<IntentRow>(
      `SELECT ${INTENT_COLUMNS} FROM payment_intents WHERE order_id = $1 ORDER BY created_at, id`,
      [orderId],
    );
    return rows.map(intentJson);
  }

  /** Net charge per order (captured − refunded), for audits. */
  async ledger(
    orderId?: string,
  ): Promise<{ order_id: string; captured: number; refunded: number; net: number; intents: number }[]> {
    const { rows } = await this.#pool.query<{
      order_id: string;
      captured: number;
      refunded: number;
      intents: number;
    }>(
      `SELECT order_id, sum(amount_received)::bigint AS captured, sum(amount_refunded)::bigint AS refunded,
              count(*)::int AS intents
         FROM payment_intents WHERE ($1::text IS NULL OR order_id = $1) GROUP BY order_id ORDER BY order_id`,
      [orderId ?? null],
    );
    return rows.map((row) => ({ ...row, net: row.captured - row.refunded }));
  }

  async #lockIntent(transaction: Transaction, intentId: string): Promise<IntentRow | undefined> {
    const { rows } = await transaction.query<IntentRow>(
      `SELECT ${INTENT_COLUMNS} FROM payment_intents WHERE id = $1 FOR UPDATE`,
      [intentId],
    );
    return rows[0];
  }
}
