/**
 * bench/cdc — change data capture from the legacy monolith to the bus (apps/legacy-cdc), on one
 * embedded PostgreSQL (wal_level=logical) holding the monolith's seeded database, the capture's own
 * database and the PostgreSQL message store; the capture and the consumer run as processes of
 * their own:
 *   - the initial snapshot: rows, seconds into the capture's outbox and onto the bus, rows/s (not
 *     part of the streaming figures);
 *   - streaming as fast as it goes: BENCH_CHANGES single-row transactions on the monolith's
 *     customers (sign-ups and address changes) committed by BENCH_WRITERS sessions in a closed loop;
 *     changes/s from the first commit to the last event at a consumer of the bus, and lag;
 *   - streaming at fixed offered rates (open loop) for BENCH_SECONDS each: BENCH_LIGHT_RATE/s
 *     (default 100) and BENCH_RATE/s (default half of what the closed loop delivered); lag
 *     p50/p99/max from each commit (as its writer saw COMMIT return) to the event at the consumer;
 *   - CPU per change by process and by PostgreSQL backend (from /proc), transactions per change;
 * beside the same run's single-row `INSERT … COMMIT` txn/s on the same server (BENCH_WRITERS clients,
 * and one: the capture writes its outbox from one session) with its CPU per transaction.
 *
 *   npm run bench:cdc
 *   BENCH_CHANGES=20000 BENCH_WRITERS=8 npm run bench:cdc
 *   BENCH_SMOKE=1 npm run bench:cdc   # the monolith without its orders, 100 changes, ½ s per rate
 *
 * Writes bench/results/cdc.json. BENCH_CPU_PROF=<folder>: the capture writes a V8 CPU profile there,
 * summarised for the closed-loop phase.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@mercato/chassis/testing';
import pg from 'pg';
import { postgresInsertBaseline } from '../baselines.ts';
import { summariseProfiles } from '../orders/cpu-profiles.ts';
import { Breakage, setting, smoke } from '../smoke-mode.ts';
import { BusArrivals } from './bus-arrivals.ts';
import { CaptureCpu, PARTS } from './capture-cpu.ts';
import {
  type CaptureServer,
  monolithRows,
  startCapture,
  startCaptureServer,
  trimMonolith,
} from './capture-rig.ts';
import { type Baseline, printReport } from './cdc-report.ts';
import { ChangeWriter } from './change-writer.ts';
import { measurePhase, type PhaseResult, type PhaseRig, round } from './measure-phase.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const changes = setting('BENCH_CHANGES', 5_000, 100);
const writers = Math.max(1, setting('BENCH_WRITERS', 4, 2));
const seconds = setting('BENCH_SECONDS', 10, 0.5);
const lightRate = setting('BENCH_LIGHT_RATE', 100, 100);
const givenRate = setting('BENCH_RATE', 0, 0);
const warmUpChanges = setting('BENCH_WARMUP_CHANGES', 1_000, 0);
const baselineSeconds = smoke ? 1 : 5;
const broken = new Breakage();

/** Single-row INSERT … COMMIT from `clients` sessions on the same server, and its CPU per transaction. */
async function insertBaseline(server: CaptureServer, clients: number): Promise<Baseline> {
  process.stdout.write(
    `baseline: single-row INSERT … COMMIT, ${clients} client${clients === 1 ? '' : 's'}, ${baselineSeconds} s\n`,
  );
  const cpu = new CaptureCpu({ adminUrl: server.adminUrl, postmasterPid: server.postmasterPid });
  await cpu.start();
  const began = performance.now();
  const perS = await postgresInsertBaseline({ url: server.adminUrl, clients, seconds: baselineSeconds });
  const spent = await cpu.stop();
  await cpu.close();
  const txns = perS * ((performance.now() - began) / 1_000);
  const usPerTxn = (which: (part: string) => boolean) =>
    round((spent.filter(([part]) => which(part)).reduce((sum, [, ms]) => sum + ms, 0) * 1_000) / txns);
  return {
    clients,
    insert_commit_per_s: perS,
    cpu_us_per_txn: {
      postgres: usPerTxn((part) => part.startsWith('pg:')),
      client: usPerTxn((part) => part === PARTS.writers.label),
    },
  };
}

process.stdout.write('starting the embedded PostgreSQL (wal_level=logical) with the seeded monolith\n');
const server = await startCaptureServer();
try {
  const baselines = [await insertBaseline(server, writers)];
  // The capture writes its outbox from one session, a transaction at a time: one client committing
  // with nothing else to do is the pace such a session can reach.
  if (writers > 1 && !smoke) baselines.push(await insertBaseline(server, 1));

  if (smoke) await trimMonolith(server.legacyUrl);
  const expectedRows = await monolithRows(server.legacyUrl);
  process.stdout.write(`initial snapshot: the capture started, ${expectedRows} rows to publish\n`);
  // The consumer's process starts beside the capture's (both take seconds of tsx) and is idle
  // during the snapshot; its group joins after it and first receives the topic's history.
  const consumer = BusArrivals.start({ messagesUrl: server.messagesUrl, group: 'bench-cdc' });
  const capture = await startCapture(server).catch(async (error: unknown) => {
    await consumer.then(
      (started) => started.stop(),
      () => undefined,
    );
    throw error;
  });
  broken.expect(
    capture.snapshot.rows === expectedRows,
    `the snapshot published ${capture.snapshot.rows} rows, the monolith has ${expectedRows}`,
  );
  const arrivals = await consumer.catch(async (error: unknown) => {
    await capture.stop();
    throw error;
  });
  const meter = new CaptureCpu({
    adminUrl: server.adminUrl,
    postmasterPid: server.postmasterPid,
    capturePid: capture.pid,
    consumerPid: arrivals.pid,
  });
  const store = new pg.Client({ connectionString: server.messagesUrl, application_name: 'bench-meter' });
  let storeOpen = false;
  let writer: ChangeWriter | undefined;
  const phases: PhaseResult[] = [];
  try {
    await store.connect();
    storeOpen = true;
    writer = await ChangeWriter.connect(server.legacyUrl, writers);
    const rig: PhaseRig = {
      writer,
      arrivals,
      meter,
      store,
      deadlineMs: smoke ? 30_000 : 600_000,
      settleMs: smoke ? 0 : 11_000,
    };
    await arrivals.subscribe();
    const customers = await monolithRows(server.legacyUrl, ['customers']);
    await waitFor(
      "the snapshot's customers at the consumer",
      () => arrivals.snapshotRows >= customers,
      120_000,
    );
    // Not counted: both new processes' JIT, the pools' connections opened on demand.
    if (warmUpChanges > 0) await measurePhase(rig, 'warm-up (not counted)', warmUpChanges, 0);
    phases.push(await measurePhase(rig, 'as fast as it goes', changes, 0));
    phases.push(await measurePhase(rig, 'fixed rate', Math.round(lightRate * seconds), lightRate));
    const halfRate =
      givenRate > 0 ? givenRate : Math.max(1, Math.round((phases[0]?.delivered_per_s ?? 2) / 2));
    const halfName = givenRate > 0 ? 'BENCH_RATE' : 'half of capacity';
    phases.push(await measurePhase(rig, halfName, Math.round(halfRate * seconds), halfRate));
    for (const p of phases)
      broken.expect(
        p.committed === p.changes && p.arrived === p.changes,
        `${p.name}: ${p.committed} of ${p.changes} committed, ${p.arrived} at the consumer`,
      );
    broken.expect(arrivals.duplicates === 0, `${arrivals.duplicates} changes delivered twice`);
    broken.expect(capture.running(), `the capture exited with ${capture.process.child.exitCode}`);
    broken.expect(arrivals.running(), 'the bench consumer exited');
  } finally {
    await arrivals.stop();
    await writer?.close();
    await meter.close();
    if (storeOpen) await store.end();
    const code = await capture.stop();
    broken.expect(code === 0, `the capture stopped with exit code ${code}`);
  }

  const [closed, ...rated] = phases;
  if (!closed) throw new Error('no phase ran');
  printReport({ baselines, snapshot: capture.snapshot, closed, rated, writers, seconds });
  // Written when the capture exits: its CPU in the closed loop, by function and package.
  const profile = process.env.BENCH_CPU_PROF
    ? summariseProfiles(process.env.BENCH_CPU_PROF, ...closed.window_us)
        .filter((summary) => summary.pid === capture.pid)
        .sort((a, b) => b.busy_ms - a.busy_ms)[0] // its main thread, not tsx's loader thread
    : undefined;
  if (profile) {
    process.stdout.write(
      `\nlegacy-cdc's CPU profile, as fast as it goes: ${profile.busy_ms} ms busy of ${profile.sampled_ms} (${round((profile.busy_ms * 1_000) / closed.changes)} µs per change)\n`,
    );
    for (const { name, ms } of profile.top_packages)
      process.stdout.write(`  ${String(ms).padStart(8)} ms  ${name}\n`);
    for (const { name, ms } of profile.top_functions.slice(0, 15))
      process.stdout.write(`  ${String(ms).padStart(8)} ms  ${name}\n`);
  }
  const result = {
    measured_at: new Date().toISOString(),
    smoke,
    cpus: availableParallelism(),
    load_average: loadavg().map((load) => round(load, 2)),
    capture: 'apps/legacy-cdc as its own process from TypeScript (tsx), on the PostgreSQL message store',
    writers,
    baselines,
    snapshot: capture.snapshot,
    phases,
    throughput_to_baseline: round(closed.delivered_per_s / (baselines[0]?.insert_commit_per_s ?? 1), 3),
    throughput_to_one_client_baseline: baselines[1]
      ? round(closed.delivered_per_s / baselines[1].insert_commit_per_s, 3)
      : undefined,
    duplicates: arrivals.duplicates,
    capture_profile: profile,
  };
  mkdirSync(path.join(root, 'bench', 'results'), { recursive: true });
  writeFileSync(path.join(root, 'bench', 'results', 'cdc.json'), `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write('\nwrote bench/results/cdc.json\n');
} finally {
  await server.stop();
}
broken.exitIfBroken('cdc');
process.exit(0);
