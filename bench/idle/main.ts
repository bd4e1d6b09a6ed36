/**
 * bench/idle — what the platform costs when nothing is offered: `npm start` (embedded PostgreSQL,
 * the PostgreSQL bus, every service), ready and settled (BENCH_SETTLE_SECONDS, default 120: start-up
 * work such as V8's memory reducer goes on for a while after ready), then left alone for
 * BENCH_IDLE_SECONDS.
 * Per process: CPU % of one core (from /proc). Per database: PostgreSQL transactions per minute
 * (pg_stat_database). Per role — each service has its own — statements per minute
 * (pg_stat_statements, loaded with MERCATO_PG_STAT_STATEMENTS), and the statements run most.
 * Baselines measured over the same window on the same machine: a bare idle Node process, and an
 * embedded PostgreSQL server (same binaries, same flags) with no client.
 *
 *   npm run bench:idle
 *   BENCH_IDLE_SECONDS=120 BENCH_SETTLE_SECONDS=20 npm run bench:idle
 *   BENCH_SMOKE=1 npm run bench:idle      # 10 s window, 3 s settle (checks it runs, not a figure)
 *
 * Writes bench/results/idle.json.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { isAlive } from '@mercato/chassis/testing';
import pg from 'pg';
import { type EmbeddedServer, startEmbeddedPostgres } from '../../apps/cli/src/postgres/embedded-server.ts';
import { type BenchPlatform, startPlatform } from '../platform.ts';
import { cpuBetween, type ProcessLabeller, parentOf, sampleCpu } from '../process-cpu.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const smoke = process.env.BENCH_SMOKE === '1';
const seconds = Number(process.env.BENCH_IDLE_SECONDS ?? (smoke ? 10 : 60));
const settleSeconds = Number(process.env.BENCH_SETTLE_SECONDS ?? (smoke ? 3 : 120));
for (const [name, value] of [
  ['BENCH_IDLE_SECONDS', seconds],
  ['BENCH_SETTLE_SECONDS', settleSeconds],
] as const)
  if (!Number.isFinite(value) || value < (name === 'BENCH_IDLE_SECONDS' ? 1 : 0)) {
    console.error(`bench/idle: ${name} must be a number of seconds (got "${process.env[name]}")`);
    process.exit(64);
  }
const ports = { postgres: 25420, barePostgres: 25421, gateway: 19380, base: 16301, grpcBase: 17301 };
const baselineNode = 'baseline: idle node';
const baselinePostgres = 'baseline: postgres, no client';

interface RunState {
  supervisor_pid?: number;
  postgres: { pid: number | null };
  services: Record<string, { pid: number | null }>;
}

/** Names each process: a service, the supervisor, a PostgreSQL server and its backends, a baseline. */
function labeller(state: RunState, baselineNodePid: number, barePostgresPid: number): ProcessLabeller {
  const named = new Map<number, string>();
  for (const [name, service] of Object.entries(state.services)) if (service.pid) named.set(service.pid, name);
  if (state.supervisor_pid) named.set(state.supervisor_pid, 'supervisor');
  if (state.postgres.pid) named.set(state.postgres.pid, 'postgres');
  named.set(barePostgresPid, baselinePostgres);
  named.set(baselineNodePid, baselineNode);
  named.set(process.pid, 'bench');
  // A PostgreSQL backend or worker is the postmaster's child; a child of a service is that service's.
  return (pid) => {
    const own = named.get(pid);
    if (own) return own;
    const parent = parentOf(pid);
    return parent === undefined ? undefined : named.get(parent);
  };
}

interface DatabaseCounts {
  transactions: Map<string, number>;
  statements: Map<string, number>;
  /** Keyed by `pg_stat_statements.queryid`: many statements share their first 140 characters. */
  topStatements: Array<{ id: string; role: string; database: string; calls: number; query: string }>;
}

async function databaseCounts(admin: pg.Client): Promise<DatabaseCounts> {
  const transactions = await admin.query<{ datname: string; n: string }>(
    `SELECT datname, (xact_commit + xact_rollback)::text AS n FROM pg_stat_database
      WHERE datname IS NOT NULL AND datname NOT IN ('template0', 'template1')`,
  );
  const statements = await admin.query<{
    rolname: string;
    datname: string;
    id: string;
    calls: string;
    query: string;
  }>(
    `SELECT r.rolname, d.datname, s.queryid::text AS id, s.calls::text AS calls, s.query
       FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid JOIN pg_database d ON d.oid = s.dbid`,
  );
  const byRole = new Map<string, number>();
  for (const row of statements.rows)
    byRole.set(row.rolname, (byRole.get(row.rolname) ?? 0) + Number(row.calls));
  return {
    transactions: new Map(transactions.rows.map((row) => [row.datname, Number(row.n)])),
    statements: byRole,
    topStatements: statements.rows.map((row) => ({
      id: `${row.rolname} ${row.datname} ${row.id}`,
      role: row.rolname,
      database: row.datname,
      calls: Number(row.calls),
      query: row.query.replace(/\s+/g, ' ').slice(0, 140),
    })),
  };
}

const perMinute = (count: number) => Math.round((count * 600) / seconds) / 10;
const percentOfCore = (ms: number) => Math.round((ms / (seconds * 1_000)) * 10_000) / 100;

const bareDir = mkdtempSync(path.join(tmpdir(), 'mercato-bench-idle-bare-'));
let platform: BenchPlatform | undefined;
let bareServer: EmbeddedServer | undefined;
let idleNode: ChildProcess | undefined;
let failed = false;
try {
  // The bare server starts beside the platform: initdb and start-up are not what is measured.
  const bare = startEmbeddedPostgres(bareDir, ports.barePostgres, {
    statStatements: true,
    log: () => undefined,
    onDied: () => console.error('bench/idle: the baseline PostgreSQL died'),
    onRestarted: () => undefined,
  });
  // Stopped in `finally` even when the platform fails to start.
  bare.then((server) => (bareServer = server)).catch(() => undefined);
  platform = await startPlatform('idle', ports, { MERCATO_PG_STAT_STATEMENTS: 'true' });
  bareServer = await bare;
  idleNode = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e9)'], { stdio: 'ignore' });
  const admin = new pg.Client({ connectionString: platform.serverUrl });
  admin.on('error', () => undefined);
  await admin.connect();
  await admin.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  await sleep(settleSeconds * 1_000);

  const state = JSON.parse(
    readFileSync(path.join(platform.dataDir, 'run', 'state.json'), 'utf8'),
  ) as RunState;
  const label = labeller(state, idleNode.pid ?? -1, bareServer.pid ?? -1);
  const countsBefore = await databaseCounts(admin);
  const cpuBefore = sampleCpu(label);
  await sleep(seconds * 1_000);
  const cpuAfter = sampleCpu(label);
  const countsAfter = await databaseCounts(admin);
  await admin.end();

  const exited = Object.entries(state.services)
    .filter(([, service]) => !isAlive(service.pid))
    .map(([name]) => name);
  if (exited.length > 0) {
    console.error(`bench/idle: ${exited.join(', ')} exited during the window`);
    failed = true;
  }
  if (!cpuBefore || !cpuAfter) {
    console.error('bench/idle: no /proc here; nothing measured');
    failed = true;
  }
  const cpu = new Map(cpuBefore && cpuAfter ? cpuBetween(cpuBefore, cpuAfter) : []);
  cpu.delete('other');
  const platformNames = [...cpu.keys()].filter((name) => !name.startsWith('baseline') && name !== 'bench');
  const platformMs = platformNames.reduce((sum, name) => sum + (cpu.get(name) ?? 0), 0);
  const delta = (before: Map<string, number>, after: Map<string, number>) =>
    Object.fromEntries(
      [...after]
        .map(([name, n]) => [name, perMinute(n - (before.get(name) ?? 0))] as const)
        .filter(([, n]) => n > 0)
        .sort((a, b) => b[1] - a[1]),
    );
  const transactions = delta(countsBefore.transactions, countsAfter.transactions);
  const statements = delta(countsBefore.statements, countsAfter.statements);
  const callsBefore = new Map(countsBefore.topStatements.map((s) => [s.id, s.calls]));
  const topStatements = countsAfter.topStatements
    .map((s) => ({
      ...s,
      per_minute: perMinute(s.calls - (callsBefore.get(s.id) ?? 0)),
    }))
    .filter((s) => s.per_minute > 0)
    .sort((a, b) => b.per_minute - a.per_minute)
    .slice(0, 15)
    .map(({ role, database, per_minute, query }) => ({ role, database, per_minute, query }));
  const result = {
    seconds,
    settle_seconds: settleSeconds,
    smoke,
    platform_cpu_percent: percentOfCore(platformMs),
    cpu_percent: Object.fromEntries(
      [...cpu].sort((a, b) => b[1] - a[1]).map(([name, ms]) => [name, percentOfCore(ms)]),
    ),
    baseline: {
      idle_node_cpu_percent: percentOfCore(cpu.get(baselineNode) ?? 0),
      postgres_no_client_cpu_percent: percentOfCore(cpu.get(baselinePostgres) ?? 0),
    },
    /** `postgres` is the bench's own database: its two reads of the counters each side. */
    transactions_per_minute: transactions,
    transactions_per_minute_total: perMinute(
      Object.entries(transactions)
        .filter(([name]) => name !== 'postgres')
        .reduce((sum, [, n]) => sum + (n * seconds) / 60, 0),
    ),
    statements_per_minute_by_role: statements,
    top_statements: topStatements,
  };

  const row = (name: string, ...values: (string | number)[]) =>
    `${name.padEnd(34)}${values.map((v) => String(v).padStart(12)).join('')}`;
  console.log(`\nbench/idle — the platform idle for ${seconds} s after ready + ${settleSeconds} s\n`);
  console.log(row('process', 'CPU %', 'txn/min', 'stmts/min'));
  const services = new Set([...Object.keys(state.services), 'supervisor', 'postgres']);
  for (const name of [...services].sort((a, b) => (cpu.get(b) ?? 0) - (cpu.get(a) ?? 0)))
    console.log(
      row(
        `  ${name}`,
        percentOfCore(cpu.get(name) ?? 0),
        transactions[name.replaceAll('-', '_')] ?? transactions[name] ?? 0,
        statements[name.replaceAll('-', '_')] ?? statements[name] ?? 0,
      ),
    );
  console.log(row('  (messages database, all roles)', '', transactions.messages ?? 0, ''));
  console.log(row('platform total', result.platform_cpu_percent, result.transactions_per_minute_total, ''));
  console.log(row(baselineNode, result.baseline.idle_node_cpu_percent));
  console.log(row(baselinePostgres, result.baseline.postgres_no_client_cpu_percent));
  console.log(
    row(
      'platform ÷ (15 idle nodes + bare PG)',
      `${(
        result.platform_cpu_percent /
          Math.max(
            0.1,
            result.baseline.idle_node_cpu_percent * (services.size - 1) +
              result.baseline.postgres_no_client_cpu_percent,
          )
      ).toFixed(1)}×`,
    ),
  );
  if (topStatements.length > 0) {
    console.log('\nstatements run most (per minute, by role and database)\n');
    for (const s of topStatements)
      console.log(`${String(s.per_minute).padStart(8)}  ${`${s.role}@${s.database}`.padEnd(28)} ${s.query}`);
  }
  mkdirSync(path.join(root, 'bench/results'), { recursive: true });
  writeFileSync(path.join(root, 'bench/results/idle.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log('\nwritten to bench/results/idle.json');
} catch (error) {
  console.error(`bench/idle: ${(error as Error).message}`);
  failed = true;
} finally {
  idleNode?.kill();
  await platform?.stop();
  await bareServer?.stop().catch(() => undefined);
  rmSync(bareDir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
