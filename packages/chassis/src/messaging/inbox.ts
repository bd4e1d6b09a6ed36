import type { Envelope } from '@mercato/contracts';
import { inTransaction, type Pool, type Transaction } from '../db/database.ts';

export type MessageHandler = (message: Envelope, transaction: Transaction) => Promise<void>;

/**
 * Runs `handler` at most once per (group, message id): the inbox row and the handler's writes commit
 * together, so a redelivered message finds its row and is acknowledged without running again.
 * A concurrent duplicate waits on the row's lock and then sees it.
 */
export async function handleOnce(
  pool: Pool,
  group: string,
  message: Envelope,
  handler: MessageHandler,
): Promise<'processed' | 'duplicate'> {
  return inTransaction(pool, async (client) => {
    const { rowCount } = await client.query(
      'INSERT INTO mercato_inbox (group_name, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
      [group, message.event_id],
    );
    if (rowCount === 0) return 'duplicate';
    await handler(message, client);
    return 'processed';
  });
}
