import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { repositoryRoot } from './platform-process.ts';

/** What the CDC crash test saw: asserted safety, printed throughput and recovery. */
export interface CdcCrashReport {
  test: 'legacy-cdc';
  snapshot: { rows: number; on_the_bus_ms: number };
  writer: {
    connections: number;
    offered_per_s: number;
    seconds: number;
    transactions: number;
    committed: number;
    /** COMMITs whose answer was lost with the server, and how many of them the monolith has. */
    ambiguous: number;
    ambiguous_committed: number;
    /** Transactions lost with the crash whose xids the server handed out again (see the writer). */
    xids_reused: number;
  };
  changes_committed: number;
  changes_captured: number;
  per_table: Record<string, { committed: number; captured: number }>;
  /** Committed changes on the bus by the time the writer stopped: the stream's goodput under faults. */
  on_the_bus_when_writer_stopped: number;
  faults: {
    killed: 'cdc' | 'postgres';
    at_s: number;
    /** PostgreSQL: how long until it accepted connections again. */
    back_ms?: number;
    /** Until the bus showed a change committed after the kill; null if it never did. */
    moving_again_ms: number | null;
  }[];
  lag_ms: { p50: number; p99: number; max: number };
  caught_up_after_writer_ms: number | null;
  /** Each safety check's count of violations (0 is the only passing value). */
  safety: Record<string, number>;
  load_average: number;
  wall_s: number;
}

const seconds = (ms: number | null | undefined) =>
  ms === undefined || ms === null ? 'never' : `${(ms / 1000).toFixed(1)} s`;
const share = (part: number, whole: number) => (whole > 0 ? `${((part / whole) * 100).toFixed(1)} %` : '-');

/** The report as a table for the test's output. */
export function formatCdcCrashReport(report: CdcCrashReport): string {
  const { writer } = report;
  return [
    'legacy CDC crash test (one embedded PostgreSQL: the monolith, the CDC outbox, the message store)',
    `  snapshot                 ${report.snapshot.rows} rows on the bus ${seconds(report.snapshot.on_the_bus_ms)} after the CDC started`,
    `  writer                   ${writer.transactions} transactions on ${writer.connections} connections at ${writer.offered_per_s}/s over ${writer.seconds} s: ${writer.committed} committed (${writer.ambiguous} ambiguous commits, ${writer.ambiguous_committed} of them committed; ${writer.xids_reused} xids handed out again after the crash)`,
    `  changes committed        ${report.changes_committed}`,
    `  changes captured         ${report.changes_captured}`,
    ...Object.entries(report.per_table).map(
      ([label, counts]) =>
        `    ${label.padEnd(22)} ${counts.committed} committed, ${counts.captured} on the bus`,
    ),
    `  appended twice           ${report.safety.appended_to_the_outbox_twice ?? 0}`,
    ...report.faults.map(
      (fault) =>
        `  kill -9 ${fault.killed.padEnd(17)}at +${fault.at_s} s: ${fault.back_ms === undefined ? '' : `back in ${seconds(fault.back_ms)}, `}stream moving again after ${seconds(fault.moving_again_ms)}`,
    ),
    `  lag commit → bus         p50 ${seconds(report.lag_ms.p50)}, p99 ${seconds(report.lag_ms.p99)}, max ${seconds(report.lag_ms.max)}`,
    `  goodput                  ${share(report.on_the_bus_when_writer_stopped, report.changes_committed)} of the committed changes on the bus when the writer stopped; all ${seconds(report.caught_up_after_writer_ms)} later`,
    `  safety (0 each)          ${JSON.stringify(report.safety)}`,
    `  wall time                ${report.wall_s} s (load average ${report.load_average})`,
  ].join('\n');
}

/**
 * Writes the report to e2e/chaos/results/legacy-cdc.json and the CDC processes' output beside it
 * (git-ignored); returns the directory.
 */
export async function writeCdcCrashReport(
  report: CdcCrashReport | undefined,
  processLines: readonly string[][],
): Promise<string> {
  const directory = path.join(repositoryRoot, 'e2e', 'chaos', 'results');
  await mkdir(directory, { recursive: true });
  if (report)
    await writeFile(path.join(directory, 'legacy-cdc.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(
    path.join(directory, 'legacy-cdc.log'),
    processLines.map((lines, index) => `== CDC process ${index + 1}\n${lines.join('\n')}\n`).join(''),
  );
  return directory;
}
