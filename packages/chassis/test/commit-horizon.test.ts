import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { belowCommitHorizon } from '../src/event-sourcing/commit-horizon.ts';
import { createTestDatabase, probePostgres, suiteTitle } from '../src/testing/infra.ts';
import { waitFor } from '../src/testing/wait-for.ts';
import { transactionInAnotherDatabase } from './fixtures/other-sessions.ts';

const postgres = await probePostgres();

interface PlanNode {
  'Function Name'?: string;
  'Actual Loops'?: number;
  Plans?: PlanNode[];
}

/** How many times a plan's nodes scanned the function `name` (0: never executed). */
const scansOf = (node: PlanNode, name: string): number =>
  (node['Function Name'] === name ? (node['Actual Loops'] ?? 0) : 0) +
  (node.Plans ?? []).reduce((sum, child) => sum + scansOf(child, name), 0);

/**
 * The commit horizon's two tests (event-sourcing/commit-horizon.ts): rows older than every
 * transaction running on the server pass the cheap one, and the session activity view, which the
 * precise one reads, is then not read at all. Event store and event log suites prove what each
 * reader sees; this one proves what the statement costs.
 */
describe.skipIf(!postgres.available)(suiteTitle('the commit horizon', postgres), () => {
  let client: pg.Client;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const database = await createTestDatabase('commit_horizon');
    drop = database.drop;
    client = new pg.Client({ connectionString: database.url });
    await client.connect();
    await client.query('CREATE TABLE log (tx xid8 NOT NULL DEFAULT pg_current_xact_id(), n int NOT NULL)');
  });
  afterAll(async () => {
    await client?.end();
    await drop?.();
  });

  const visible = async () =>
    (
      await client.query<{ n: number }>(`SELECT n FROM log WHERE ${belowCommitHorizon('log.tx')} ORDER BY n`)
    ).rows.map((row) => row.n);
  const activityReads = async () => {
    const { rows } = await client.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(
      `EXPLAIN (ANALYZE, FORMAT JSON) SELECT n FROM log WHERE ${belowCommitHorizon('log.tx')}`,
    );
    const plan = rows[0]?.['QUERY PLAN'][0]?.Plan;
    return plan ? scansOf(plan, 'pg_stat_get_activity') : Number.NaN;
  };

  it('reads no session activity for rows older than every transaction running on the server', async () => {
    const { rows } = await client.query<{ tx: string }>(
      'INSERT INTO log (n) VALUES (1) RETURNING tx::text AS tx',
    );
    // Other suites share the server: wait until none of their transactions is older than the row.
    await waitFor('the server-wide horizon past the row', async () => {
      const { rows: past } = await client.query<{ past: boolean }>(
        'SELECT pg_snapshot_xmin(pg_current_snapshot()) > $1::xid8 AS past',
        [rows[0]?.tx],
      );
      return past[0]?.past === true;
    });
    // A transaction running now, begun after the row, and one committed after it (so the running
    // one is among the snapshot's in-progress ids, not past its end): the precise test alone would
    // read the activity view to place it; the row is older than it, so the cheap test settles it.
    const elsewhere = await transactionInAnotherDatabase();
    await client.query('CREATE TABLE IF NOT EXISTS later (n int)');
    await client.query('INSERT INTO later VALUES (1)');
    try {
      expect(await activityReads()).toBe(0);
      expect(await visible()).toEqual([1]);
    } finally {
      await elsewhere.end();
    }
  });

  it('reads it once for a row newer than a transaction running elsewhere, and shows the row', async () => {
    const elsewhere = await transactionInAnotherDatabase();
    try {
      await client.query('INSERT INTO log (n) VALUES (2)');
      expect(await activityReads()).toBe(1);
      expect(await visible()).toEqual([1, 2]);
    } finally {
      await elsewhere.end();
    }
  });
});
