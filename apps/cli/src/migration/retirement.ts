import { readFile } from 'node:fs/promises';
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
  ) => Promise<{ status: number; body: { detail?: string } & Record<string, unknown> }>;
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
export async function readRetirement(dataDir: string): Promise<RetirementRecord | undefined> {
  const file = retirementRecordPath(dataDir);
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw new Error(`${file} cannot be read: ${error.message}`);
  });
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as RetirementRecord;
  } catch (error) {
    throw new Error(
      `${file} is not the record of a retirement (${(error as Error).message}): restore it, or remove it to start the monolith again`,
    );
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
 * The strangler's phase N (docs/strangler-fig.md): the monolith retires once the services write
 * everything it wrote and its orders finished, its last changes reach the services, and the checker
 * finds both sides equal; then the capture stops, its slot and publication are dropped, and the
 * monolith stops. Each step either completes or leaves everything as it was before it.
 */
export async function retireMonolith(steps: RetirementSteps): Promise<RetirementRecord> {
  const waitMs = steps.waitMs ?? 60_000;
  const settleMs = steps.settleMs ?? 5_000;
  // 1. The services first: from here they refuse to hand anything back (the monolith would never
  //    take it). Each says no while it does not own its capability for good.
  const marked: Array<'customer' | 'inventory'> = [];
  const unmark = () =>
    Promise.all(
      marked.map((service) => steps.call(service, 'PUT', '/admin/legacy/retirement', { retired: false })),
    );
  for (const service of ['customer', 'inventory'] as const) {
    const answer = await steps.call(service, 'PUT', '/admin/legacy/retirement', { retired: true });
    if (answer.status !== 200) {
      await unmark();
      throw refused('MIGRATION.NOT_READY', answer.body.detail ?? `${service} answered ${answer.status}`);
    }
    marked.push(service);
  }
  // 2. The monolith: waits for its writes in flight, refuses while it still writes a capability or
  //    has orders to finish, and from its commit takes nothing back.
  const retired = await steps.call('legacy', 'POST', '/api/retirement');
  if (retired.status !== 200) {
    await unmark();
    throw refused('MIGRATION.NOT_READY', retired.body.detail ?? `the monolith answered ${retired.status}`, {
      monolith: retired.body,
    });
  }
  const { retiredAt, lsn } = retired.body as unknown as { retiredAt: string; lsn: string };
  steps.log(`the monolith retired at ${retiredAt}; its log ends at ${lsn}`);
  // 3. Everything it wrote is in the capture's outbox (the slot confirmed past the end) and on the bus.
  const deadline = Date.now() + waitMs;
  for (;;) {
    const captured = await withClient(steps.databases.legacy, (client) =>
      client.query<{ behind: boolean }>(
        // No slot left: a retirement that stopped after dropping it is run again.
        `SELECT coalesce(bool_or(confirmed_flush_lsn IS NULL OR confirmed_flush_lsn < $1::pg_lsn), false) AS behind
         FROM pg_replication_slots WHERE database = current_database()`,
        [lsn],
      ),
    );
    const unpublished = await withClient(steps.databases.capture, (client) =>
      client.query<{ count: number }>('SELECT count(*)::int AS count FROM mercato_outbox'),
    );
    if (captured.rows[0]?.behind === false && unpublished.rows[0]?.count === 0) break;
    if (Date.now() > deadline)
      throw refused(
        'MIGRATION.CAPTURE_BEHIND',
        `the monolith is retired, but the capture has not published its log up to ${lsn} within ${waitMs / 1_000} s: is legacy-cdc running? Run mercato migrate retire again once it is`,
      );
    await sleep(250);
  }
  // 4. The services hold what the monolith holds: compared once its last changes are out of the
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
  // 5. The capture stops, its slot and publication go (a slot left behind would hold the server's
  //    log for ever), and the monolith stops. Its database is kept, as an archive.
  await steps.stop('legacy-cdc');
  const dropped = await withClient(steps.databases.legacy, async (client) => {
    const slots = await client.query<{ slot: string }>(
      `SELECT slot_name AS slot, pg_drop_replication_slot(slot_name)
       FROM pg_replication_slots WHERE database = current_database()`,
    );
    const publications = await client.query<{ name: string }>('SELECT pubname AS name FROM pg_publication');
    for (const { name } of publications.rows)
      await client.query(`DROP PUBLICATION "${name.replaceAll('"', '""')}"`);
    return {
      slots: slots.rows.map((row) => row.slot),
      publications: publications.rows.map((row) => row.name),
    };
  });
  await steps.stop('legacy');
  const record: RetirementRecord = { retiredAt, lsn, dropped, report };
  await writeFileAtomically(retirementRecordPath(steps.dataDir), `${JSON.stringify(record, null, 2)}\n`);
  steps.log(
    `retired: dropped slot ${dropped.slots.join(', ') || '(none)'} and publication ${dropped.publications.join(', ') || '(none)'}; the monolith and the capture are stopped`,
  );
  return record;
}
