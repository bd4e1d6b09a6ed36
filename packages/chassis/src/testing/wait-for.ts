import type { Pool } from '../db/database.ts';

/** Polls until `condition` holds and returns how long it took; throws after `timeoutMs`. */
export async function waitFor(
  what: string,
  condition: () => Promise<boolean> | boolean,
  timeoutMs = 10_000,
  intervalMs = 20,
): Promise<number> {
  const began = Date.now();
  for (;;) {
    if (await condition()) return Date.now() - began;
    if (Date.now() - began > timeoutMs) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Waits until consumer group `group` of the service whose database `db` queries has handled every
 * message of `messageIds` (its inbox holds them): what the handler did with them is then committed.
 */
export const waitForHandled = (db: Pool, group: string, messageIds: readonly string[]): Promise<number> =>
  waitFor(`${group} handled ${messageIds.length} messages`, async () => {
    const { rows } = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM mercato_inbox WHERE group_name = $1 AND message_id = ANY($2::text[])',
      [group, messageIds],
    );
    return rows[0]?.n === new Set(messageIds).size;
  });
