import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '@mercato/chassis/errors';
import type pg from 'pg';
import { writeFileAtomically } from '../supervisor/run-state.ts';
import { driftOf } from './drift.ts';
import {
  checkDrift,
  type DriftReport,
  type MigrationDatabases,
  withClient as withDatabase,
} from './drift-checker.ts';

/** What `mercato migrate retire` leaves behind: when, where the log ended, and the last comparison. */
export interface RetirementRecord {
  retiredAt: string;
  /** The monolith's log position after its retirement: the capture had everything up to it. */
  lsn: string;
  /** The replication slots and publications dropped. */
  dropped: { slots: string[]; publications: string[] };
  /** The checker's last report, made after the capture had the whole log: drift 0. */
  report: DriftReport;
}

export interface RetirementSteps {
  databases: MigrationDatabases & { capture: string };
  /** A process's HTTP API (`path` from its root), as the run's operator. */
  call: (
    service: 'legacy' | 'customer' | 'inventory',
    method: 'POST' | 'PUT',
    path: string,
    body?: unknown,
  ) => Promise<{ status: number; body: { code?: string; detail?: string } & Record<string, unknown> }>;
  /** What of the gateway's routing table still reaches the monolith (none once nothing does). */
  routedToMonolith: () => Promise<string[]>;
  /** Stops a process and keeps it stopped (the supervisor's hold). */
  stop: (name: 'legacy' | 'legacy-cdc') => Promise<void>;
  dataDir: string;
  log: (message: string) => void;
  /** How long to wait for the capture and for the services to hold the same data. */
  waitMs?: number;
  /** The checker's settle window: the monolith's changes this recent are still on their way. */
  settleMs?: number;
}

export const retirementRecordPath = (dataDir: string): string => path.join(dataDir, 'legacy', 'retired.json');

/** The record of the monolith's retirement, if it was retired in this data directory. */
export const readRetirement = (dataDir: string): Promise<RetirementRecord | undefined> =>
  readRecord<RetirementRecord>(retirementRecordPath(dataDir));

/** The retirement checked (steps 0–3 done), kept until the slot is dropped and the record written. */
const checkedRecordPath = (dataDir: string): string =>
  path.join(dataDir, 'legacy', 'retirement-checked.json');

async function readRecord<T>(file: string): Promise<T | undefined> {
  const unreadable = (why: string) =>
    new AppError({
      code: 'MIGRATION.RECORD_UNREADABLE',
      kind: 'conflict',
      message: `${file} ${why}: restore it from a copy (the monolith's retirement depends on it; its replication slot may be gone)`,
    });
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw unreadable(`cannot be read (${error.message})`);
  });
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw unreadable(`is not the record of a retirement (${(error as Error).message})`);
  }
}

const refused = (code: string, message: string, details?: Record<string, unknown>) =>
  new AppError({ code, kind: 'conflict', message, ...(details ? { details } : {}) });

const withClient = <T>(url: string, work: (client: pg.Client) => Promise<T>) =>
  withDatabase(url, work, 'mercato-retirement');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * What the services do not write back into the monolith (the monolith's orders and catalogue, the
 * sign-in emails): no row of these may be left out of the last comparison.
 */
const monolithOnly = ['accounts', 'orders', 'products', 'prices', 'stock'] as const;

/**
 * The strangler's phase N (docs/strangler-fig.md): the monolith retires once nothing is routed to it,
 * the services write everything it wrote and its orders finished; its last changes reach the
 * services and the checker finds both sides equal; then the capture stops, its slot and publication
 * are dropped, and the monolith stops. Until the monolith retires, a refusal leaves everything as it
 * was; after it, every step is safe to run again (`mercato migrate retire` once more).
 */
export async function retireMonolith(steps: RetirementSteps): Promise<RetirementRecord> {
  const waitMs = steps.waitMs ?? 60_000;
  const settleMs = steps.settleMs ?? 5_000;
  const checked = await readRecord<CheckedRetirement>(checkedRecordPath(steps.dataDir));
  const { retiredAt, lsn, report } = checked ?? (await retireAndCompare(steps, waitMs, settleMs));
  // 4. The capture stops, its slot and publication go (a slot left behind would hold the server's
  //    log for ever), and the monolith stops. Its database is kept, as an archive. What was checked
  //    is written first: run again from here, the comparison is not made again (nothing follows the
  //    services' edits into the monolith once the capture stopped).
  if (!checked)
    await writeFileAtomically(checkedRecordPath(steps.dataDir), JSON.stringify({ retiredAt, lsn, report }));
  await steps.stop('legacy-cdc');
  const dropped = await withClient(steps.databases.legacy, dropCapture);
  await steps.stop('legacy');
  const record: RetirementRecord = { retiredAt, lsn, dropped, report };
  await writeFileAtomically(retirementRecordPath(steps.dataDir), `${JSON.stringify(record, null, 2)}\n`);
  await rm(checkedRecordPath(steps.dataDir), { force: true });
  steps.log(
    `retired: dropped slot ${dropped.slots.join(', ') || '(none)'} and publication ${dropped.publications.join(', ') || '(none)'}; the monolith and the capture are stopped`,
  );
  return record;
}

type CheckedRetirement = Pick<RetirementRecord, 'retiredAt' | 'lsn' | 'report'>;

/** Steps 0 to 3: the monolith retired, its log in the services, the checker at 0. */
async function retireAndCompare(
  steps: RetirementSteps,
  waitMs: number,
  settleMs: number,
): Promise<CheckedRetirement> {
  // 0. Nothing is routed to the monolith any more: no cluster of the gateway's names it.
  const routed = await steps.routedToMonolith();
  if (routed.length > 0)
    throw refused(
      'MIGRATION.STILL_ROUTED',
      `the gateway's routing table still sends requests to the monolith (${routed.join('; ')}): answer its routes from the services and remove its cluster first (docs/strangler-fig.md, phase N)`,
      { routed },
    );
  // 1. The services first: from here they refuse to hand anything back (the monolith would never
  //    take it). Each says no while it does not own its capability.
  const marked: Array<'customer' | 'inventory'> = [];
  const mark = (service: 'customer' | 'inventory', body: { retired: boolean; for_good?: boolean }) =>
    steps.call(service, 'PUT', '/admin/legacy/retirement', body);
  // Taken back only while the monolith has not retired (an earlier run may have retired it, its
  // answer lost): the marks of a retired monolith stay. What could not be taken back is said.
  const unmark = async (): Promise<string> => {
    const { rows } = await withClient(steps.databases.legacy, (client) =>
      client.query('SELECT 1 FROM retirement'),
    );
    if (rows.length > 0) return '; the monolith did retire before: the services keep their marks';
    const failed: string[] = [];
    for (const service of marked) {
      const answer = await mark(service, { retired: false });
      if (answer.status !== 200) failed.push(`${service} (${answer.body.detail ?? answer.status})`);
    }
    return failed.length > 0
      ? `; still marked retiring, refusing hand-backs: ${failed.join(', ')} (run mercato migrate retire again, or PUT /admin/legacy/retirement {"retired": false} on it)`
      : '';
  };
  for (const service of ['customer', 'inventory'] as const) {
    const answer = await mark(service, { retired: true });
    if (answer.status !== 200) {
      const left = await unmark();
      throw refused(
        'MIGRATION.NOT_READY',
        `${answer.body.detail ?? `${service} answered ${answer.status}`}${left}`,
      );
    }
    marked.push(service);
  }
  // 2. The monolith: waits for its writes in flight, refuses while it still writes a capability or
  //    has orders to finish, and from its commit takes nothing back. Only its refusal unmarks the
  //    services: an answer lost on the way may hide a retirement that committed.
  const retired = await steps.call('legacy', 'POST', '/api/retirement');
  if (retired.status === 409 && monolithRefusals.includes(String(retired.body.code))) {
    const left = await unmark();
    throw refused(
      'MIGRATION.NOT_READY',
      `${retired.body.detail ?? 'the monolith refused to retire'}${left}`,
      {
        monolith: retired.body,
      },
    );
  }
  if (retired.status !== 200)
    throw new AppError({
      code: 'MIGRATION.MONOLITH_UNANSWERED',
      kind: 'unavailable',
      message: `the monolith did not say whether it retired (${retired.body.detail ?? retired.status}): the services keep refusing hand-backs; run mercato migrate retire again`,
    });
  const { retiredAt, lsn } = retired.body as unknown as { retiredAt: string; lsn: string };
  for (const service of marked) {
    const answer = await mark(service, { retired: true, for_good: true });
    if (answer.status !== 200)
      throw new AppError({
        code: 'MIGRATION.SERVICE_UNANSWERED',
        kind: 'unavailable',
        message: `${service} did not keep the monolith's retirement for good (${answer.body.detail ?? answer.status}): run mercato migrate retire again`,
      });
  }
  steps.log(`the monolith retired at ${retiredAt}; its log ends at ${lsn}`);
  // 3. Everything it wrote is in the capture's outbox (the slot confirmed past the end), then on the
  //    bus: every row in the outbox by then is published (rows added later are the services' own
  //    edits coming back from the monolith).
  const deadline = Date.now() + waitMs;
  const behind = () =>
    refused(
      'MIGRATION.CAPTURE_BEHIND',
      `the monolith is retired, but the capture has not published its log up to ${lsn} within ${waitMs / 1_000} s: is legacy-cdc running? Run mercato migrate retire again once it is`,
    );
  for (;;) {
    const captured = await withClient(steps.databases.legacy, (client) =>
      client.query<{ behind: boolean }>(
        `SELECT coalesce(bool_or(confirmed_flush_lsn IS NULL OR confirmed_flush_lsn < $1::pg_lsn), true) AS behind
         FROM pg_replication_slots WHERE database = current_database()`,
        [lsn],
      ),
    );
    if (captured.rows[0]?.behind === false) break;
    if (Date.now() > deadline) throw behind();
    await sleep(250);
  }
  const last = await withClient(steps.databases.capture, (client) =>
    client.query<{ position: string }>(
      'SELECT coalesce(max(position), 0)::text AS position FROM mercato_outbox',
    ),
  );
  for (;;) {
    const unpublished = await withClient(steps.databases.capture, (client) =>
      client.query('SELECT 1 FROM mercato_outbox WHERE position <= $1 LIMIT 1', [
        last.rows[0]?.position ?? '0',
      ]),
    );
    if (unpublished.rows.length === 0) break;
    if (Date.now() > deadline) throw behind();
    await sleep(250);
  }
  //    Then the services hold what the monolith holds: compared once its last changes are out of the
  //    settle window, until there is no drift. Customers changed within it are the services' own
  //    edits on their way into the monolith (write-back); everything else is compared whole.
  await sleep(Math.max(0, Date.parse(retiredAt) + settleMs - Date.now()));
  const checkedBy = Date.now() + waitMs;
  let report: DriftReport;
  for (;;) {
    report = await checkDrift(steps.databases, { settleMs, rechecks: 3 });
    const whole =
      report.drift === 0 ? await checkDrift(steps.databases, { settleMs: 0, rechecks: 3 }) : report;
    const differing =
      report.drift + monolithOnly.reduce((sum, table) => sum + driftOf(whole.tables[table]), 0);
    if (differing === 0) break;
    if (Date.now() > checkedBy)
      throw refused(
        'MIGRATION.DRIFT',
        `the monolith is retired, but the services' copy differs in ${differing} rows: its slot is kept. Find why (mercato migrate check --settle-ms 0), then run mercato migrate retire again`,
        { report: whole },
      );
    await sleep(1_000);
  }
  steps.log(`the services hold everything the monolith held (drift 0 at ${report.at})`);
  return { retiredAt, lsn, report };
}

/** The monolith's refusals to retire (nothing changed): the services' marks are taken back. */
const monolithRefusals = ['LEGACY.STILL_WRITES', 'LEGACY.ORDERS_UNFINISHED'];

/**
 * Drops every replication slot of the monolith's database and every publication in it (whatever
 * else replicated from the monolith stops with it: nothing is to read its log again). A slot is
 * dropped once its reader let go of it (the capture's process just stopped; its walsender may take a
 * moment), or its reader is ended after 10 s.
 */
async function dropCapture(client: pg.Client): Promise<RetirementRecord['dropped']> {
  for (let waited = 0; ; waited += 100) {
    const { rows } = await client.query<{ pid: number }>(
      `SELECT active_pid AS pid FROM pg_replication_slots
       WHERE database = current_database() AND active_pid IS NOT NULL`,
    );
    if (rows.length === 0) break;
    // Ended after 10 s, and looked at again until it is gone (a dropped slot still in use fails).
    if (waited >= 10_000 && waited % 1_000 === 0)
      for (const { pid } of rows) await client.query('SELECT pg_terminate_backend($1)', [pid]);
    await sleep(100);
  }
  const slots = await client.query<{ slot: string }>(
    `SELECT slot_name AS slot, pg_drop_replication_slot(slot_name)
     FROM pg_replication_slots WHERE database = current_database()`,
  );
  const publications = await client.query<{ name: string }>('SELECT pubname AS name FROM pg_publication');
  for (const { name } of publications.rows)
    await client.query(`DROP PUBLICATION "${name.replaceAll('"', '""')}"`);
  return { slots: slots.rows.map((row) => row.slot), publications: publications.rows.map((row) => row.name) };
}
