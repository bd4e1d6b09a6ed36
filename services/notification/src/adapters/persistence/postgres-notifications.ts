import type { Pool, Transaction } from '@mercato/chassis';
import type { NotificationStore, SentNotification } from '../../application/notification-ports.ts';

interface NotificationRow {
  message_id: string;
  event_id: string;
  kind: string;
  customer_id: string;
  order_id: string | null;
  recipient: string;
  subject: string;
  sends: number;
  sent_at: Date;
}

const toSent = (row: NotificationRow): SentNotification => ({
  messageId: row.message_id,
  eventId: row.event_id,
  kind: row.kind,
  customerId: row.customer_id,
  orderId: row.order_id,
  recipient: row.recipient,
  subject: row.subject,
  sends: row.sends,
  sentAt: row.sent_at,
});

export class PostgresNotifications implements NotificationStore {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async wasSent(messageId: string): Promise<boolean> {
    const { rowCount } = await this.#pool.query('SELECT 1 FROM notifications WHERE message_id = $1', [
      messageId,
    ]);
    return rowCount === 1;
  }

  async record(transaction: Transaction, sent: Omit<SentNotification, 'sends' | 'sentAt'>): Promise<void> {
    await transaction.query(
      `INSERT INTO notifications (message_id, event_id, kind, customer_id, order_id, recipient, subject)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (message_id) DO UPDATE SET sends = notifications.sends + 1`,
      [sent.messageId, sent.eventId, sent.kind, sent.customerId, sent.orderId, sent.recipient, sent.subject],
    );
  }

  async list(filter: { customerId?: string; limit: number }): Promise<SentNotification[]> {
    const { rows } = await this.#pool.query<NotificationRow>(
      `SELECT * FROM notifications WHERE ($1::text IS NULL OR customer_id = $1)
        ORDER BY sent_at DESC, message_id LIMIT $2`,
      [filter.customerId ?? null, filter.limit],
    );
    return rows.map(toSent);
  }
}
