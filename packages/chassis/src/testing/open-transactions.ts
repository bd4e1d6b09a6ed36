import pg from 'pg';
import { waitFor } from './wait-for.ts';

export interface OpenTransaction {
  pid: number;
  state: string;
  openMs: number;
  query: string;
  /** Relation-level locks it holds (row locks show as RowShare/RowExclusive on their table). */
  locks: string[];
}

/**
 * The transactions open for longer than `olderThanMs` in the database at `databaseUrl`, with the
 * locks each holds: what a test asserts is empty while a call to another process is pending. A
 * transaction held across the call would show here as `idle in transaction`, open for as long as
 * the call, holding its row locks. Read as the server's superuser, so every session's query shows.
 */
export async function openTransactionsIn(databaseUrl: string, olderThanMs = 250): Promise<OpenTransaction[]> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'open-transactions' });
  await client.connect();
  try {
    const { rows } = await client.query<OpenTransaction>(
      `SELECT a.pid, a.state, (extract(epoch FROM clock_timestamp() - a.xact_start) * 1000)::int AS "openMs",
              left(a.query, 200) AS query,
              coalesce((SELECT array_agg(l.mode || ' on ' || coalesce(l.relation::regclass::text, l.locktype))
                          FROM pg_locks l WHERE l.pid = a.pid AND l.granted
                           AND l.locktype IN ('relation', 'tuple', 'transactionid')
                           AND (l.relation IS NULL OR l.relation::regclass::text NOT LIKE 'pg_%')), '{}') AS locks
         FROM pg_stat_activity a
        WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
          AND a.xact_start IS NOT NULL AND a.xact_start < clock_timestamp() - $1 * interval '1 millisecond'`,
      [olderThanMs],
    );
    return rows;
  } finally {
    await client.end();
  }
}

/**
 * Waits until a session of the database `pool` reaches is waiting for a row another transaction
 * holds (a lock on that transaction's id not granted): the moment a lock-order test makes its move.
 */
export async function waitForRowLockWait(pool: Pick<pg.Pool, 'query'>, what: string): Promise<void> {
  await waitFor(what, async () => {
    const { rows } = await pool.query(
      `SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'transactionid' AND NOT l.granted AND a.datname = current_database()`,
    );
    return rows.length > 0;
  });
}
