import type { OutboxEntry, StatementPart, Transaction } from '@mercato/chassis';
import type { Order } from '../domain/order.ts';
import type { OrderEvent } from '../domain/order-events.ts';

export interface RecordedOrderEvent {
  event: OrderEvent;
  version: number;
  recordedAt: Date;
  globalPosition: string;
}

/** Orders as event streams. Appends go with their outbox entries in the caller's transaction. */
export interface OrderRepository {
  /** The order and its stream version; `asOf`: as it stood then. */
  load(
    orderId: string,
    options?: { asOf?: Date; transaction?: Transaction },
  ): Promise<{ order: Order | undefined; version: number }>;
  /**
   * Appends after `expectedVersion`; a writer that got there first is EVENTS.CONCURRENCY_CONFLICT
   * (retryable), after which the transaction can only be rolled back. The events, their messages
   * and `also` (other writes of the transaction: a saga's new state) go in one statement.
   */
  append(
    transaction: Transaction,
    orderId: string,
    expectedVersion: number,
    events: readonly OrderEvent[],
    outbox: readonly OutboxEntry[],
    also?: readonly StatementPart[],
  ): Promise<number>;
  events(orderId: string): Promise<RecordedOrderEvent[]>;
}
