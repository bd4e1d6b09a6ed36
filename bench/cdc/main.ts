/**
 * bench/cdc — change data capture from the legacy monolith to the bus (apps/legacy-cdc), on one
 * embedded PostgreSQL (wal_level=logical) holding the monolith's seeded database, the capture's own
 * database and the PostgreSQL message store; the capture runs as a process of its own:
 *   - the initial snapshot: rows, seconds into the capture's outbox and onto the bus, rows/s (not
 *     part of the streaming figures);
 *   - streaming, as fast as it goes: BENCH_CHANGES single-row transactions on the monolith's
 *     customers (sign-ups and address changes) committed by BENCH_WRITERS sessions in a closed loop;
 *     changes/s from the first commit to the last event at a consumer of the bus, and lag;
 *   - streaming at a fixed offered rate (open loop) for BENCH_SECONDS: BENCH_LIGHT_RATE/s (default
 *     100) and BENCH_RATE/s (default half of what the closed loop delivered); lag p50/p99/max
 *     from each commit (as its writer saw it return) to the event's arrival at the consumer;
 *   - CPU per change by process and by PostgreSQL backend (from /proc);
 * beside the same run's single-row `INSERT … COMMIT` txn/s on the same server (BENCH_WRITERS
 * clients, and its CPU per transaction), with the ratio.
 *
 *   npm run bench:cdc
 *   BENCH_CHANGES=50000 BENCH_WRITERS=8 npm run bench:cdc
 *   BENCH_SMOKE=1 npm run bench:cdc   # 500 changes, 1 s per rate
 *
 * Writes bench/results/cdc.json. BENCH_CPU_PROF=<folder>: the capture writes a V8 CPU profile there.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, createPool, PostgresMessageBus } from '@mercato/chassis';
import { waitFor } from '@mercato/chassis/testing';
import { postgresInsertBaseline } from '../baselines.ts';
import { Breakage, setting, smoke } from '../smoke-mode.ts';
import { BusArrivals } from './bus-arrivals.ts';
import { monolithRows, startCapture, startCaptureServer } from './capture-rig.ts';
import { CaptureCpu } from './capture-cpu.ts';
import { ChangeWriter } from './change-writer.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const changes = setting('BENCH_CHANGES', 20_000, 500);
const writers = Math.max(1, setting('BENCH_WRITERS', 4, 2));
const seconds = setting('BENCH_SECONDS', 10, 1);
const lightRate = setting('BENCH_LIGHT_RATE', 100, 100);
const givenRate = setting('BENCH_RATE', 0, 0);
const warmUpChanges = setting('BENCH_WARMUP_CHANGES', 2_000, 100);
const baselineSeconds = smoke ? 1 : 5;
const broken = new Breakage();
const logger = createLogger({ service: 'bench-cdc', level: 'silent' });

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const round = (value: number, digits = 1) => Number(value.toFixed(digits));
const summary = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50: round(percentile(sorted, 50)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted.at(-1) ?? 0),
  };
};

process.stdout.write('starting the embedded PostgreSQL (wal_level=logical) with the seeded monolith\n');
const server = await startCaptureServer();
const cpu = new CaptureCpu({ adminUrl: server.adminUrl, postmasterPid: server.postmasterPid, capturePid: undefined });
try {
  process.stdout.write(`baseline: single-row INSERT … COMMIT, ${writers} clients, ${baselineSeconds} s\n`);
  await cpu.start();
  const baselineStarted = performance.now();
  const baselinePerS = await postgresInsertBaseline({ url: server.adminUrl, clients: writers, seconds: baselineSeconds });
  const baselineCpu = await cpu.stop();
  const baselineTxns = baselinePerS * ((performance.now() - baselineStarted) / 1_000);
  const baselineCpuUs = (prefix: string) =>
    (baselineCpu.filter(([part]) => part.startsWith(prefix)).reduce((sum, [, ms]) => sum + ms, 0) * 1_000) /
    baselineTxns;
  const baseline = {
    insert_commit_per_s: baselinePerS,
    clients: writers,
    cpu_us_per_txn: { postgres: round(baselineCpuUs('pg')), client: round(baselineCpuUs('bench')) },
  };

  const expectedRows = await monolithRows(server.legacyUrl);
  process.stdout.write(`initial snapshot: the capture started, ${expectedRows} rows to publish\n`);
  const capture = await startCapture(server, {});
  const meter = new CaptureCpu({
    adminUrl: server.adminUrl,
    postmasterPid: server.postmasterPid,
    capturePid: capture.pid,
  });
  broken.expect(
    capture.snapshot.rows === expectedRows,
    `the snapshot published ${capture.snapshot.rows} rows, the monolith has ${expectedRows}`,
  );

  const busPool = createPool({ url: server.messagesUrl, max: 4, applicationName: 'bench-subscriber' }, logger);
  const bus = new PostgresMessageBus({ pool: busPool, listenUrl: server.messagesUrl, logger });
  const arrivals = new BusArrivals();
  const writer = await ChangeWriter.connect(server.legacyUrl, writers);
  try {
    // The group joins after the snapshot and first receives the topic's history: its customers.
    await arrivals.subscribe(bus, 'bench-cdc');
    const customers = await monolithRows(server.legacyUrl, ['customers']);
    await waitFor('the snapshot\'s customers at the consumer', () => arrivals.snapshotRows >= customers, 120_000);

    /** Writes `count` changes at `rate` (0: closed loop) and waits for every one at the consumer. */
    const phase = async (name: string, count: number, rate: number) => {
      process.stdout.write(`${name}: ${count} changes${rate > 0 ? ` at ${rate}/s` : ', as fast as they go'}\n`);
      await meter.start();
      const written = await writer.write(count, rate);
      const arrived = () => [...written.commits.keys()].filter((xid) => arrivals.streamed.has(xid)).length;
      await waitFor('every change at the consumer', () => arrived() === written.commits.size, smoke ? 30_000 : 300_000, 20).catch(
        () => undefined,
      );
      const cpuMs = await meter.stop();
      const matched = [...written.commits].flatMap(([xid, committed]) => {
        const arrival = arrivals.streamed.get(xid);
        return arrival ? [{ committed, ...arrival }] : [];
      });
      const lastArrival = matched.reduce((last, change) => Math.max(last, change.at), written.ended);
      const elapsedS = (lastArrival - written.began) / 1_000;
      broken.expect(
        matched.length === count && written.commits.size === count,
        `${name}: ${written.commits.size} of ${count} committed, ${matched.length} at the consumer`,
      );
      return {
        name,
        offered_per_s: rate,
        changes: count,
        arrived: matched.length,
        writers_committed_per_s: Math.round(count / ((written.ended - written.began) / 1_000)),
        delivered_per_s: Math.round(matched.length / elapsedS),
        seconds: round(elapsedS, 2),
        lag_ms: summary(matched.map((change) => change.at - change.committed)),
        // The same from the commit time the envelope carries (whole ms, the server's clock).
        lag_from_committed_at_ms: summary(matched.map((change) => change.at - change.committedAt)),
        cpu_ms: Object.fromEntries(cpuMs.map(([part, ms]) => [part, Math.round(ms)])),
        cpu_us_per_change: Object.fromEntries(cpuMs.map(([part, ms]) => [part, round((ms * 1_000) / count)])),
      };
    };

    await phase('warm-up (not counted)', warmUpChanges, 0);
    const closed = await phase('as fast as it goes', changes, 0);
    const light = await phase('light load', Math.round(lightRate * seconds), lightRate);
    const halfRate = givenRate > 0 ? givenRate : Math.max(1, Math.round(closed.delivered_per_s / 2));
    const half = await phase(givenRate > 0 ? 'fixed rate' : 'half of capacity', Math.round(halfRate * seconds), halfRate);
    broken.expect(arrivals.duplicates === 0, `${arrivals.duplicates} changes delivered twice`);
    broken.expect(capture.running(), `the capture exited with ${capture.process.child.exitCode}`);
    const phases = [closed, light, half];

    const ratio = (value: number) => `${(value / baselinePerS).toFixed(2)}×`;
    const lag = (p: (typeof phases)[number]) => `${p.lag_ms.p50} / ${p.lag_ms.p99} / ${p.lag_ms.max} ms`;
    const table = [
      ['what', 'figure', 'ratio to its baseline'],
      [
        `baseline INSERT … COMMIT (${writers} clients, same server)`,
        `${baselinePerS} txn/s; CPU ${baseline.cpu_us_per_txn.postgres} µs PostgreSQL + ${baseline.cpu_us_per_txn.client} µs client per txn`,
        '1.00×',
      ],
      [
        `initial snapshot (${capture.snapshot.rows} rows, not in the figures below)`,
        `${capture.snapshot.into_outbox_s.toFixed(1)} s into the outbox, ${capture.snapshot.on_bus_s.toFixed(1)} s on the bus: ${capture.snapshot.rows_per_s} rows/s`,
        '',
      ],
      [
        `as fast as it goes: ${closed.changes} changes, ${writers} writer sessions`,
        `${closed.delivered_per_s} changes/s at the consumer (writers committed ${closed.writers_committed_per_s}/s)`,
        ratio(closed.delivered_per_s),
      ],
      ['  … lag commit → consumer p50 / p99 / max', lag(closed), ''],
      ...[light, half].flatMap((p) => [
        [
          `${p.name}: ${p.offered_per_s}/s offered for ${seconds} s (open loop)`,
          `${p.delivered_per_s} changes/s at the consumer; lag p50 / p99 / max ${lag(p)}`,
          `${ratio(p.offered_per_s)} offered`,
        ],
      ]),
    ];
    const print = (rows: string[][]) => {
      const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
      for (const row of rows)
        process.stdout.write(`${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ')}\n`);
    };
    process.stdout.write('\n');
    print(table);

    // Where the CPU of a change goes, beside the baseline's per transaction.
    const parts = [...new Set(phases.flatMap((p) => Object.keys(p.cpu_us_per_change)))].filter(
      (part) => part !== 'other',
    );
    const total = (p: (typeof phases)[number]) =>
      parts.reduce((sum, part) => sum + (p.cpu_us_per_change[part] ?? 0), 0);
    process.stdout.write('\nCPU µs per change, by process and PostgreSQL backend\n');
    print([
      ['part', ...phases.map((p) => `${p.name}${p.offered_per_s ? ` (${p.offered_per_s}/s)` : ''}`)],
      ...parts.map((part) => [part, ...phases.map((p) => String(p.cpu_us_per_change[part] ?? 0))]),
      ['total', ...phases.map((p) => String(round(total(p))))],
      [
        'baseline INSERT … COMMIT, per txn',
        `${round(baseline.cpu_us_per_txn.postgres + baseline.cpu_us_per_txn.client)}`,
        '',
        '',
      ],
    ]);

    const result = {
      measured_at: new Date().toISOString(),
      smoke,
      cpus: availableParallelism(),
      load_average: loadavg().map((load) => round(load, 2)),
      capture_runs: 'apps/legacy-cdc as its own process, from TypeScript (tsx), the PostgreSQL message store',
      baseline,
      snapshot: capture.snapshot,
      phases,
      throughput_to_baseline: round(closed.delivered_per_s / baselinePerS, 3),
      duplicates: arrivals.duplicates,
    };
    mkdirSync(path.join(root, 'bench', 'results'), { recursive: true });
    writeFileSync(path.join(root, 'bench', 'results', 'cdc.json'), `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write('\nwrote bench/results/cdc.json\n');
  } finally {
    await arrivals.stop();
    await writer.close();
    await bus.close();
    await busPool.end();
    const code = await capture.stop();
    broken.expect(code === 0, `the capture stopped with exit code ${code}`);
    await meter.close();
  }
} finally {
  await cpu.close();
  await server.stop();
}
broken.exitIfBroken('cdc');
process.exit(0);
