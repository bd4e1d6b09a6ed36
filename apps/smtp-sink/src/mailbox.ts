import type { Pool } from '@mercato/chassis';

export interface ReceivedMail {
  messageId: string | null;
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
  headers: Record<string, string>;
  size: number;
}

export interface StoredMail {
  id: number;
  message_id: string | null;
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
  headers: Record<string, string>;
  size: number;
  received_at: string;
}

interface MailRow {
  id: string;
  message_id: string | null;
  mail_from: string;
  rcpt_to: string[];
  subject: string;
  text_body: string;
  html_body: string;
  headers: Record<string, string>;
  size: number;
  received_at: Date;
}

const toMail = (row: MailRow): StoredMail => ({
  id: Number(row.id),
  message_id: row.message_id,
  from: row.mail_from,
  to: row.rcpt_to,
  subject: row.subject,
  text: row.text_body,
  html: row.html_body,
  headers: row.headers,
  size: row.size,
  received_at: row.received_at.toISOString(),
});

/** The sink's mailbox on PostgreSQL: what was received, kept across restarts. */
export class Mailbox {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async store(mail: ReceivedMail): Promise<number> {
    const { rows } = await this.#pool.query<{ id: string }>(
      `INSERT INTO mails (message_id, mail_from, rcpt_to, subject, text_body, html_body, headers, size)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
      [
        mail.messageId,
        mail.from,
        mail.to,
        mail.subject,
        mail.text,
        mail.html,
        JSON.stringify(mail.headers),
        mail.size,
      ],
    );
    return Number(rows[0]?.id);
  }

  /** Newest first; `to` filters by recipient, `messageId` by Message-ID. */
  async list(filter: {
    to?: string;
    messageId?: string;
    limit: number;
    afterId?: number;
  }): Promise<StoredMail[]> {
    const { rows } = await this.#pool.query<MailRow>(
      `SELECT * FROM mails
        WHERE ($1::text IS NULL OR $1 = ANY(rcpt_to))
          AND ($2::text IS NULL OR message_id = $2)
          AND id > $3
        ORDER BY id DESC LIMIT $4`,
      [filter.to?.toLowerCase() ?? null, filter.messageId ?? null, filter.afterId ?? 0, filter.limit],
    );
    return rows.map(toMail);
  }

  async find(id: number): Promise<StoredMail | undefined> {
    const { rows } = await this.#pool.query<MailRow>('SELECT * FROM mails WHERE id = $1', [id]);
    return rows[0] && toMail(rows[0]);
  }
}
