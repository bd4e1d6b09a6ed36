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
 * whose read of `pg_stat_get_activity` builds a row for every session slot of the server (220–310
 * µs of the server's CPU a statement on PostgreSQL 18, with 10 or 110 sessions). Either test alone
 * is sound; the first is the cheaper and the narrower.
 *
 * A CASE, not an OR: PostgreSQL 18 rewrites `tx < a OR tx < b` into `tx < ANY (ARRAY[a, b])` and
 * makes it part of the index condition of the readers' (tx, position) scans, which computes both
 * values before the first row is read: every read made while any transaction ran on the server paid
 * for the activity view, even one that found nothing after its position. PostgreSQL does not
 * rewrite a CASE, and runs an uncorrelated subquery when its value is first needed: a read whose
 * rows all pass the first test, or that finds no row, never reads the activity view
 * (test/commit-horizon.test.ts, on the machine's server and on the embedded PostgreSQL 18).
 */
export const belowCommitHorizon = (column: string): string =>
  `CASE WHEN ${column} < (SELECT pg_snapshot_xmin(pg_current_snapshot())) THEN true
        ELSE ${column} < ${COMMIT_HORIZON} END`;
