import type { Transaction } from '@mercato/chassis';
import type { OrderLine } from '../domain/order-events.ts';

export interface PricedBasket {
  currency: string;
  lines: OrderLine[];
  discountMinor: number;
}

/** pricing, as CreateOrder needs it. */
export interface PriceQuotes {
  quote(items: readonly { sku: string; quantity: number }[], customerId: string): Promise<PricedBasket>;
}

export type Claim =
  | { outcome: 'claimed'; orderId: string }
  | { outcome: 'done'; orderId: string }
  | { outcome: 'mismatch' }
  | { outcome: 'in_flight' };

/** CreateOrder's idempotency keys, per customer. */
export interface OrderRequests {
  /** Claims the key for this request (committed at once, so a concurrent duplicate sees it). */
  claim(customerId: string, key: string, requestHash: string, orderId: string): Promise<Claim>;
  /** Marks the key done, in the transaction that stores the order. */
  complete(transaction: Transaction, customerId: string, key: string): Promise<void>;
  /** Gives a claim up (the request failed before storing anything), so a retry may run. */
  abandon(customerId: string, key: string): Promise<void>;
}
