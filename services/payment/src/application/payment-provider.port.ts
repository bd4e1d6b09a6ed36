/** A payment intent as the provider keeps it. */
export interface ProviderIntent {
  id: string;
  status: 'requires_capture' | 'succeeded' | 'canceled' | 'declined';
  amount: number;
  /** ISO 4217, upper case. */
  currency: string;
  amountReceived: number;
  amountRefunded: number;
}

export type Authorization =
  | { outcome: 'authorized'; intent: ProviderIntent }
  | { outcome: 'declined'; code: string };

export type RefundResult =
  | { outcome: 'refunded'; refundId: string; amount: number }
  | { outcome: 'nothing_left' }
  | { outcome: 'failed'; code: string };

/**
 * The external payment provider. Every call that changes money takes an idempotency key, so
 * repeating it (after a crash, a timeout) returns the first result. A provider that cannot be
 * reached throws a retryable PAYMENT.PROVIDER_UNAVAILABLE. `signal` ends a call early (its claim
 * is running out). No call may be made with a database transaction open.
 */
export interface PaymentProvider {
  authorize(
    input: { orderId: string; amountMinor: number; currency: string },
    key: string,
    signal?: AbortSignal,
  ): Promise<Authorization>;
  capture(intentId: string, key: string, signal?: AbortSignal): Promise<ProviderIntent>;
  cancel(intentId: string, key: string, signal?: AbortSignal): Promise<ProviderIntent>;
  refund(intentId: string, key: string, signal?: AbortSignal): Promise<RefundResult>;
  /** Every intent the provider holds for an order, found by its metadata. */
  intentsOf(orderId: string, signal?: AbortSignal): Promise<ProviderIntent[]>;
}
