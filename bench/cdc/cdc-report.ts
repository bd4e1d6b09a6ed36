/** bench/cdc's tables: the figures beside their baselines, then where a change's CPU goes. */

import { PARTS } from './capture-cpu.ts';
import type { SnapshotFigures } from './capture-rig.ts';
import { type PhaseResult, round } from './measure-phase.ts';

export interface Baseline {
  clients: number;
  insert_commit_per_s: number;
  cpu_us_per_txn: { postgres: number; client: number };
}

export interface CdcReport {
  baselines: Baseline[];
  snapshot: SnapshotFigures;
  closed: PhaseResult;
  rated: PhaseResult[];
  writers: number;
  seconds: number;
}

const print = (rows: string[][]) => {
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  for (const row of rows)
    process.stdout.write(`${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ')}\n`);
};

const lag = (p: PhaseResult) => `${p.lag_ms.p50} / ${p.lag_ms.p99} / ${p.lag_ms.max} ms`;

export function printReport(report: CdcReport): void {
  const { baselines, snapshot, closed, rated, writers, seconds } = report;
  const [baseline] = baselines;
  const per = baseline?.insert_commit_per_s ?? 0;
  const ratio = (value: number) => (per > 0 ? `${(value / per).toFixed(2)}×` : '');
  process.stdout.write('\n');
  print([
    ['what', 'figure', 'ratio to the baseline'],
    ...baselines.map((b, index) => [
      `baseline INSERT … COMMIT, ${b.clients} client${b.clients === 1 ? '' : 's'} (same server)`,
      `${b.insert_commit_per_s} txn/s; CPU ${b.cpu_us_per_txn.postgres} µs PostgreSQL + ${b.cpu_us_per_txn.client} µs client per txn`,
      index === 0 ? '1.00×' : ratio(b.insert_commit_per_s),
    ]),
    [
      `initial snapshot, ${snapshot.rows} rows (not in the streaming figures)`,
      `${snapshot.into_outbox_s.toFixed(1)} s into the outbox, ${snapshot.on_bus_s.toFixed(1)} s on the bus: ${snapshot.rows_per_s} rows/s`,
      '',
    ],
    [
      `as fast as it goes: ${closed.changes} changes, ${writers} writer sessions`,
      `${closed.delivered_per_s} changes/s at the consumer (writers committed ${closed.writers_committed_per_s}/s)`,
      ratio(closed.delivered_per_s),
    ],
    ['  … lag commit → consumer p50 / p99 / max', lag(closed), ''],
    ...rated.flatMap((p) => [
      [
        `${p.name}: ${p.offered_per_s}/s offered for ${seconds} s (open loop)`,
        `${p.delivered_per_s} changes/s at the consumer; lag p50 / p99 / max ${lag(p)}`,
        `${ratio(p.offered_per_s)} offered`,
      ],
      [
        '  … commit → published on the bus; → consumer, p50 / p99',
        `${p.commit_to_bus_ms.p50} / ${p.commit_to_bus_ms.p99} ms; ${p.bus_to_consumer_ms.p50} / ${p.bus_to_consumer_ms.p99} ms`,
        '',
      ],
    ]),
  ]);

  const phases = [closed, ...rated];
  const parts = Object.values(PARTS)
    .map((part) => part.label)
    .filter((label) => phases.some((p) => (p.cpu_us_per_change[label] ?? 0) > 0));
  process.stdout.write('\nCPU µs per change, by process and PostgreSQL backend\n');
  print([
    ['part', ...phases.map((p) => (p.offered_per_s ? `at ${p.offered_per_s}/s` : 'as fast as it goes'))],
    ...parts.map((part) => [`  ${part}`, ...phases.map((p) => String(p.cpu_us_per_change[part] ?? 0))]),
    ...(['monolith', 'capture', 'consumer', 'server'] as const).map((side) => [
      `${side} side, total`,
      ...phases.map((p) => String(p.cpu_us_per_change_by_side[side])),
    ]),
    ...(['legacy', 'legacy_cdc', 'messages'] as const).map((database) => [
      `PostgreSQL transactions per change, database ${database}`,
      ...phases.map((p) => String(p.transactions_per_change[database] ?? 0)),
    ]),
    ...baselines.map((b) => [
      `baseline INSERT … COMMIT (${b.clients} client${b.clients === 1 ? '' : 's'}), per txn`,
      `${round(b.cpu_us_per_txn.postgres + b.cpu_us_per_txn.client)}`,
    ]),
  ]);
}
