import type { Transaction } from '@mercato/chassis';
import type { OrderFacts } from '../domain/mail.ts';

/** The customer service, asked by API for where a mail goes. */
export interface Customers {
  contactOf(customerId: string): Promise<{ email: string; name: string } | undefined>;
}

/** What a mail says about an order, and whose order it is. */
export type CustomerOrderFacts = OrderFacts & { customerId: string };

/** The order service, asked by API for what the mail says about an order. */
export interface OrderFactsSource {
  factsOf(orderId: string): Promise<CustomerOrderFacts | undefined>;
  /** An event carried an order's facts (they never change once placed): later mails may use them. */
  learned?(facts: CustomerOrderFacts): void;
}

export interface OutgoingMail {
  messageId: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  headers: Record<string, string>;
}

/** An SMTP server. Resolves once the server accepted the mail; throws when it did not. */
export interface Mailer {
  send(mail: OutgoingMail): Promise<void>;
}

export interface SentNotification {
  messageId: string;
  eventId: string;
  kind: string;
  customerId: string;
  orderId: string | null;
  recipient: string;
  subject: string;
  sends: number;
  sentAt: Date;
}

export interface NotificationStore {
  /** Whether this mail was sent and recorded already (read outside any transaction). */
  wasSent(messageId: string): Promise<boolean>;
  /** Records a send (a second send of the same mail counts up `sends`). */
  record(transaction: Transaction, sent: Omit<SentNotification, 'sends' | 'sentAt'>): Promise<void>;
  list(filter: { customerId?: string; limit: number }): Promise<SentNotification[]>;
}
