/**
 * SQL for the commit horizon of a log table written with `DEFAULT pg_current_xact_id()`: a
 * transaction id (xid8) such that every row of an older transaction is already visible and final.
 * A reader that only takes rows below it, in (transaction, position) order, never passes a row
 * that commits later with a lower position.
 *
 * `pg_snapshot_xmin(pg_current_snapshot())` would do, but it is the oldest transaction running on
 * the whole server: a transaction held open in another service's database (a slow provider call,
 * a psql session) would hold every log back. Only sessions connected to this database can write
 * its tables, so the horizon is the oldest of the snapshot's running transactions that is not
 * known to belong to another database, or the snapshot's xmax when there is none.
 * `pg_stat_get_activity` shows every session's database and transaction id to any role (only the
 * query text and the like are hidden from other roles), so a service's own role can tell. A running
 * transaction it cannot place counts as this database's, so it holds the horizon and never lets a
 * row pass: a session that ended meanwhile for one read, a prepared transaction (none here uses
 * two-phase commit) until it is resolved, as with the server-wide gate.
 *
 * The transaction→database mapping never changes, so the activity view may be read at any moment
 * relative to the snapshot. Evaluated once per statement; with no transaction running (the usual
 * case) the activity view is not read at all.
 *
 * Other ways considered: Marten's high-water mark waits for a gap in the sequence and skips it
 * after a timeout (a slow transaction's event is then lost to the reader unless it finds evidence
 * the transaction is alive); message-db serialises writers per category; logical decoding
 * (Debezium) reads in commit order but needs the REPLICATION privilege a service role lacks.
 */
export const COMMIT_HORIZON = `coalesce(
  (SELECT min(running) FROM pg_snapshot_xip(pg_current_snapshot()) AS running
    WHERE xid(running) NOT IN (
      SELECT activity.backend_xid FROM pg_stat_get_activity(NULL) AS activity
       WHERE activity.backend_xid IS NOT NULL
         AND activity.datid IS DISTINCT FROM (SELECT oid FROM pg_database WHERE datname = current_database()))),
  pg_snapshot_xmax(pg_current_snapshot()))`;

/**
 * SQL: `column` (an xid8 written by `DEFAULT pg_current_xact_id()`) is below the commit horizon.
 * Tested first against the oldest transaction running anywhere on the server (one function call:
 * every older transaction has ended), and only for a row above that against `COMMIT_HORIZON`,
 * whose read of `pg_stat_get_activity` walks every session of the server (about 100 µs a
 * statement with 40 sessions, and it ran whenever the snapshot listed a transaction in progress,
 * i.e. whenever two or more were open at once, which under load is nearly always). Either test alone is sound; the first is the cheaper and the narrower. PostgreSQL runs
 * an uncorrelated subquery when its value is first needed and stops an OR at its first true arm,
 * so a read whose rows all passed the first test never reads the activity view.
 */
export const belowCommitHorizon = (column: string): string =>
  `(${column} < (SELECT pg_snapshot_xmin(pg_current_snapshot())) OR ${column} < ${COMMIT_HORIZON})`;
