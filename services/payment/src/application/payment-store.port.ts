import type { Transaction } from '@mercato/chassis';

export type PaymentStatus = 'authorizing' | 'captured' | 'declined' | 'voided' | 'refunded' | 'failed';

export interface Payment {
  orderId: string;
  paymentId: string;
  customerId: string;
  status: PaymentStatus;
  amountMinor: number;
  currency: string;
  providerPaymentId: string | null;
  capturedMinor: number;
  refundedMinor: number;
  reason: string | null;
}

/** What a new payment record starts from; nothing has been charged or refunded under it yet. */
export type NewPayment = Pick<
  Payment,
  'orderId' | 'customerId' | 'status' | 'amountMinor' | 'currency' | 'reason'
>;

export interface RefundRecord {
  refundId: string;
  providerRefundId: string;
  amountMinor: number;
  createdAt: Date;
}

/**
 * payment's own records. Writes take the transaction of the command they answer. `addRefund` is
 * false when the provider's refund was recorded already.
 */
export interface PaymentStore {
  /** The order's payment, created from `seed` if there is none, locked until the transaction ends. */
  lockOrCreate(transaction: Transaction, seed: NewPayment): Promise<Payment>;
  /** The order's payment, which must exist, locked until the transaction ends. */
  lock(transaction: Transaction, orderId: string): Promise<Payment>;
  update(transaction: Transaction, payment: Payment): Promise<void>;
  addRefund(
    transaction: Transaction,
    orderId: string,
    refund: RefundRecord & { providerPaymentId: string },
  ): Promise<boolean>;
  get(orderId: string): Promise<{ payment: Payment; refunds: RefundRecord[] } | undefined>;
}
