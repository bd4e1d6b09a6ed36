import type { OutboxEntry, Transaction } from '@mercato/chassis';
import type { Customer } from '../domain/customer.ts';

/** A change to one customer and the messages announcing it, stored together. */
export interface CustomerChange {
  customer: Customer;
  messages: OutboxEntry[];
}

/** Customer profiles. */
export interface CustomerStore {
  get(id: string): Promise<Customer | undefined>;
  /** Creates the profile unless it exists (its event may be delivered again), in the consumer's transaction. */
  createIfAbsent(transaction: Transaction, customer: Customer): Promise<void>;
  /**
   * Reads the customer under a lock, applies `change`, and stores the result with its messages in
   * one transaction; undefined when there is no such customer.
   */
  update(id: string, change: (customer: Customer) => CustomerChange): Promise<Customer | undefined>;
  /** The customer, locked until the consumer's transaction ends. */
  getForUpdate(transaction: Transaction, id: string): Promise<Customer | undefined>;
  /** Creates or overwrites the profile, with its messages, in the consumer's transaction. */
  save(transaction: Transaction, customer: Customer, messages: OutboxEntry[]): Promise<void>;
  /** The commit position of the last change of the monolith applied to a taken-over profile. */
  legacyPosition(transaction: Transaction, id: string): Promise<string | undefined>;
  recordLegacyPosition(transaction: Transaction, id: string, lsn: string): Promise<void>;
}
