import { assertOutsideTransaction } from '@mercato/chassis';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Mailer, OutgoingMail } from '../../application/notification-ports.ts';

/** Any SMTP server through nodemailer (pooled connections); resolves once the server accepted the mail. */
export class SmtpMailer implements Mailer {
  readonly #transport: Transporter;
  readonly #from: string;

  constructor(options: { url: string; from: string; timeoutMs: number }) {
    this.#from = options.from;
    this.#transport = nodemailer.createTransport({
      url: options.url,
      pool: true,
      maxConnections: 4,
      connectionTimeout: options.timeoutMs,
      greetingTimeout: options.timeoutMs,
      socketTimeout: options.timeoutMs,
      // A local sink has no TLS; a real server offering STARTTLS still gets it.
      ignoreTLS: options.url.startsWith('smtp://127.0.0.1') || options.url.startsWith('smtp://localhost'),
    });
  }

  async send(mail: OutgoingMail): Promise<void> {
    assertOutsideTransaction(`SMTP send to ${mail.to}`);
    await this.#transport.sendMail({
      from: this.#from,
      to: mail.to,
      subject: mail.subject,
      text: mail.text,
      html: mail.html,
      messageId: mail.messageId,
      headers: mail.headers,
    });
  }

  close(): void {
    this.#transport.close();
  }
}
