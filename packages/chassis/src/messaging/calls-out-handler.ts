import type { Envelope } from '@mercato/contracts';
import { callOutside, type Intent } from '../calls/call-outside.ts';
import type { Pool, Transaction } from '../db/database.ts';

/**
 * A message handler that calls another process (a provider, a carrier, a mail server, another
 * service): instead of one transaction around everything, it is run as claim, call, record
 * (`callOutside`), with the inbox row written in whichever transaction settles the message.
 */
export interface CallsOutHandler {
  /** What the message's call is about: calls about the same subject never run at once. */
  subject: (message: Envelope) => string;
  /** How long a claim holds (longer than the call can take); the call is aborted before it ends. */
  leaseMs: number;
  /** Step 1, in the intent transaction: settle at once, or return the call (and its outcome step). */
  intent: (message: Envelope, transaction: Transaction) => Promise<Intent<void>>;
}

const seen = async (transaction: Transaction, group: string, messageId: string) =>
  ((
    await transaction.query('SELECT 1 FROM mercato_inbox WHERE group_name = $1 AND message_id = $2', [
      group,
      messageId,
    ])
  ).rowCount ?? 0) > 0;

const remember = async (transaction: Transaction, group: string, messageId: string) =>
  ((
    await transaction.query(
      'INSERT INTO mercato_inbox (group_name, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
      [group, messageId],
    )
  ).rowCount ?? 0) > 0;

/**
 * `handleOnce` for a handler that calls out: at most one recorded outcome per (group, message id).
 * A redelivery while the first delivery is calling meets its claim and is retried later; one after a
 * crash between the call and its outcome takes the expired claim over and calls again.
 */
export async function handleCallingOutOnce(
  pool: Pool,
  group: string,
  message: Envelope,
  handler: CallsOutHandler,
): Promise<'processed' | 'duplicate'> {
  return callOutside<'processed' | 'duplicate'>(pool, {
    subject: handler.subject(message),
    leaseMs: handler.leaseMs,
    intent: async (transaction) => {
      if (await seen(transaction, group, message.event_id)) return { settled: 'duplicate' };
      const intent = await handler.intent(message, transaction);
      if ('settled' in intent) {
        await remember(transaction, group, message.event_id);
        return { settled: 'processed' };
      }
      return {
        call: async (signal) => {
          const outcome = await intent.call(signal);
          return async (transaction) => {
            if (!(await remember(transaction, group, message.event_id))) return 'duplicate';
            await outcome(transaction);
            return 'processed';
          };
        },
      };
    },
  });
}
