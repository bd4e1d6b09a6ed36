import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '@mercato/chassis/testing';
import type pg from 'pg';

/** A change as a consumer first saw it on the bus: its commit in the monolith, its arrival. */
export interface SeenChange {
  committedAt: number;
  seenAt: number;
}

/**
 * The message store tailed from `position` every 50 ms, as a consumer would see it: when each
 * change first showed on the bus. For timings only (the lag, when the stream moved again): a row
 * whose transaction commits after a later position is taken later or not at all, so what a test
 * asserts it reads again in full. Keeps going while the server is away.
 */
export function tailChanges(messages: pg.Pool, position: number) {
  const seen: SeenChange[] = [];
  let from = position;
  let running = true;
  const loop = (async () => {
    while (running) {
      const rows = await messages
        // By the column, not the text output column of the same name (as text, 10000 < 9999).
        .query<{ position: string; committed_at: string }>(
          `SELECT position::text, envelope->'data'->'source'->>'committed_at' AS committed_at
           FROM bus_messages WHERE position > $1 ORDER BY bus_messages.position LIMIT 5000`,
          [from],
        )
        .then(
          (result) => result.rows,
          () => [], // PostgreSQL is being killed: look again in a moment
        );
      const now = Date.now();
      for (const row of rows) seen.push({ committedAt: Date.parse(row.committed_at), seenAt: now });
      from = Number(rows.at(-1)?.position ?? from);
      await sleep(50);
    }
  })();
  const firstAfter = (at: number) => seen.find((change) => change.committedAt > at);
  return {
    seen,
    /**
     * When the bus first showed a change committed after `at` (the stream moving again after a
     * fault), waiting up to `timeoutMs`; undefined if it never did (what was lost fails the test).
     */
    movingAgainAfter: async (at: number, timeoutMs: number): Promise<number | undefined> => {
      await waitFor('the stream moving again', () => firstAfter(at) !== undefined, timeoutMs, 20).catch(
        () => undefined,
      );
      return firstAfter(at)?.seenAt;
    },
    stop: async () => {
      running = false;
      await loop;
    },
  };
}
