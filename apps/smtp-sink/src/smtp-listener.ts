import { PassThrough } from 'node:stream';
import type { Logger } from '@mercato/chassis';
import { simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { Mailbox, ReceivedMail } from './mailbox.ts';

type SmtpError = Error & { responseCode?: number };

const smtpError = (message: string, responseCode: number): SmtpError =>
  Object.assign(new Error(message), { responseCode });

/** Headers worth keeping as plain strings (the X-Mercato-* ones the tests and people read). */
function headerStrings(headers: Map<string, unknown>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of headers)
    if (typeof value === 'string' && (name.startsWith('x-') || name === 'message-id')) kept[name] = value;
  return kept;
}

/**
 * The SMTP side of the sink (smtp-server parses the protocol, mailparser the message). A mail is
 * stored before it is acknowledged: the sender hears 250 only once the mail is in PostgreSQL, and
 * 451 (try again later) if it could not be stored, so an acknowledged mail is never lost.
 */
export async function listenForMail(options: {
  mailbox: Mailbox;
  logger: Logger;
  host: string;
  port: number;
  maxBytes: number;
}): Promise<{ close: () => Promise<void> }> {
  const { mailbox, logger, maxBytes } = options;
  const onData = (
    stream: SMTPServerDataStream,
    session: SMTPServerSession,
    callback: (error?: Error) => void,
  ) => {
    let size = 0;
    const counted = new PassThrough();
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
    });
    stream.pipe(counted);
    simpleParser(counted)
      .then(async (parsed) => {
        if (stream.sizeExceeded)
          throw smtpError(`Message exceeds the maximum size of ${maxBytes} bytes`, 552);
        const mail: ReceivedMail = {
          messageId: parsed.messageId ?? null,
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((recipient) => recipient.address.toLowerCase()),
          subject: parsed.subject ?? '',
          text: parsed.text ?? '',
          html: typeof parsed.html === 'string' ? parsed.html : '',
          headers: headerStrings(parsed.headers),
          size,
        };
        const id = await mailbox.store(mail);
        // One a mail: debug, not info, as notification's "mail sent" (the mailbox records every mail).
        logger.debug(
          { mail_id: id, message_id: mail.messageId, to: mail.to, subject: mail.subject },
          'mail received',
        );
        callback();
      })
      .catch((error: SmtpError) => {
        if (error.responseCode) return callback(error);
        logger.error({ err: error }, 'storing a mail failed; the sender is told to try again');
        callback(smtpError('Could not store the message; try again later', 451));
      });
  };
  const server = new SMTPServer({
    // A local sink: no TLS, no login; any sender, any recipient.
    secure: false,
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    size: maxBytes,
    logger: false,
    onData,
  });
  server.on('error', (error) => logger.warn({ err: error }, 'SMTP connection error'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  logger.info({ smtp: `smtp://${options.host}:${options.port}` }, 'SMTP sink listening');
  return { close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
