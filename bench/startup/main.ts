/**
 * bench/startup — what a process of the platform costs, for built services (the default) and,
 * in the same run, for services compiled from TypeScript by tsx in every process (the baseline):
 *   - cold start: a fresh data folder (initdb, provisioning, seeding) to "all services ready";
 *   - warm start: the same folder again;
 *   - restart: each service `kill -9`ed, until a new process answers its /readyz;
 *   - memory: RSS of every process at ready, idle (BENCH_IDLE_SECONDS after ready, once V8's memory
 *     reducer has given back what start-up used), and after BENCH_LOAD_SECONDS of load through the
 *     gateway (autocannon on a mix of catalog, pricing, inventory and identity calls); idle, also
 *     each process's PSS and private memory, and the whole platform's PSS with PostgreSQL's
 *     backends (bench/process-memory.ts says why RSS summed over processes overstates it).
 * Services are built before the runs (the build itself is timed separately).
 *
 *   npm run bench:startup
 *   BENCH_RUNTIMES=built BENCH_LOAD_SECONDS=20 npm run bench:startup
 *
 * Prints a table with each built figure beside the tsx one and their ratio; writes
 * bench/results/startup.json. Start times on a busy machine move by seconds, so each process's CPU
 * time until ready (user + system, from /proc) is printed beside them: what a start costs.
 *
 * BENCH_SMOKE=1: built services only, no build from scratch (the start builds what is stale), one
 * cold and one warm start, 2 s idle, no load, one service killed and restarted; exits non-zero if a
 * phase produced no figure. It asserts no timing.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ProcessUnderTest, waitFor } from '@mercato/chassis/testing';
import autocannon from 'autocannon';
import { MERCATO_CLI } from '../../e2e/support/platform-process.ts';
import { runtimeSettings } from '../platform.ts';
import { type ProcessMemory, processMemory, treeMemory } from '../process-memory.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const smoke = process.env.BENCH_SMOKE === '1';
const runtimes = (process.env.BENCH_RUNTIMES ?? (smoke ? 'built' : 'source,built')).split(',');
for (const runtime of runtimes)
  if (runtime !== 'built' && runtime !== 'source') {
    console.error(`bench/startup: unknown runtime "${runtime}" in BENCH_RUNTIMES (expected built, source)`);
    process.exit(64);
  }
const idleSeconds = Number(process.env.BENCH_IDLE_SECONDS ?? (smoke ? 2 : 30));
const loadSeconds = Number(process.env.BENCH_LOAD_SECONDS ?? (smoke ? 0 : 60));
/** In smoke mode only this service is killed and restarted. */
const smokeRestart = 'catalog';
const ports = { postgres: 25393, gateway: 18280, base: 14201, grpcBase: 15201 };
const gateway = `http://127.0.0.1:${ports.gateway}`;

/** CPU milliseconds (user + system) a process has spent since it started, from /proc; 0 if gone. */
const cpuMs = (pid: number | null | undefined): number => {
  if (!pid) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1_000) / clockTicks;
  } catch {
    return 0;
  }
};
const clockTicks = 100;

interface RunState {
  postgres: { pid: number | null };
  services: Record<string, { pid: number | null; url: string }>;
}

function startPlatform(runtime: string, dataDir: string): { platform: ProcessUnderTest; began: number } {
  const began = Date.now();
  const platform = new ProcessUnderTest([MERCATO_CLI, 'start'], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/root',
      MERCATO_RUNTIME: runtime,
      MERCATO_DATA_DIR: dataDir,
      MERCATO_PG_PORT: String(ports.postgres),
      MERCATO_GATEWAY_PORT: String(ports.gateway),
      MERCATO_PORT_BASE: String(ports.base),
      MERCATO_GRPC_PORT_BASE: String(ports.grpcBase),
      GATEWAY_RATE_LIMIT_DEFAULT: 'off',
      LOG_LEVEL: 'warn',
      ...runtimeSettings(),
    },
  });
  return { platform, began };
}

async function untilReady(platform: ProcessUnderTest, began: number): Promise<number> {
  await platform.waitForLine(/all services ready in/, 120_000);
  return Date.now() - began;
}

async function stop(platform: ProcessUnderTest): Promise<void> {
  platform.child.kill('SIGINT');
  await platform.exited();
}

const state = (dataDir: string): RunState =>
  JSON.parse(readFileSync(path.join(dataDir, 'run', 'state.json'), 'utf8')) as RunState;

/** Each service's memory, and PostgreSQL's: its postmaster with every backend and worker. */
const memory = (dataDir: string): Record<string, ProcessMemory> => {
  const current = state(dataDir);
  return {
    ...Object.fromEntries(Object.entries(current.services).map(([name, s]) => [name, processMemory(s.pid)])),
    postgres: treeMemory(current.postgres.pid),
  };
};

/** One figure of each process, in whole MB. */
const megabytes = (
  measured: Record<string, ProcessMemory>,
  figure: keyof ProcessMemory,
): Record<string, number> =>
  Object.fromEntries(Object.entries(measured).map(([name, memory]) => [name, Math.round(memory[figure])]));

/** CPU each service process has spent so far (at "all services ready": its start's cost). */
const cpu = (dataDir: string): Record<string, number> =>
  Object.fromEntries(Object.entries(state(dataDir).services).map(([name, s]) => [name, cpuMs(s.pid)]));

async function restartTimes(
  dataDir: string,
): Promise<{ times: Record<string, number>; cpu: Record<string, number> }> {
  const times: Record<string, number> = {};
  const spent: Record<string, number> = {};
  const all = Object.entries(state(dataDir).services);
  for (const [name, service] of smoke ? all.filter(([name]) => name === smokeRestart) : all) {
    const killed = service.pid as number;
    const killedAt = Date.now();
    process.kill(killed, 'SIGKILL');
    await waitFor(
      `${name} ready again`,
      async () => {
        const pid = state(dataDir).services[name]?.pid;
        if (!pid || pid === killed) return false;
        return (await fetch(`${service.url}/readyz`).catch(() => undefined))?.status === 200;
      },
      60_000,
      10,
    );
    times[name] = Date.now() - killedAt;
    spent[name] = cpuMs(state(dataDir).services[name]?.pid);
    await sleep(500);
  }
  return { times, cpu: spent };
}

async function load(seconds: number): Promise<number> {
  const result = await autocannon({
    url: gateway,
    connections: 20,
    duration: seconds,
    requests: [
      { method: 'GET', path: '/api/catalog/products?page_size=20' },
      { method: 'GET', path: '/api/inventory/stock/OUT-0001' },
      {
        method: 'POST',
        path: '/api/cart/quote',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ items: [{ sku: 'BOK-0001', quantity: 3 }] }),
      },
      { method: 'GET', path: '/.well-known/jwks.json' },
    ],
  });
  return Math.round(result.requests.average);
}

interface RuntimeResult {
  runtime: string;
  cold_ms: number;
  warm_ms: number;
  restart_ms: Record<string, number>;
  /** CPU each process spent from spawn to "all services ready" (warm start). */
  cpu_to_ready_ms: Record<string, number>;
  /** CPU the new process spent from spawn to its first 200 on /readyz after kill -9. */
  restart_cpu_ms: Record<string, number>;
  rss_ready_mb: Record<string, number>;
  rss_idle_mb: Record<string, number>;
  /** Idle, each shared page charged to its sharers in proportion: these sum to what the platform takes. */
  pss_idle_mb: Record<string, number>;
  /** Idle, the pages no other process maps: what ending the process would give back. */
  private_idle_mb: Record<string, number>;
  rss_loaded_mb: Record<string, number>;
  load_requests_per_second: number;
}

async function measureRuntime(runtime: string): Promise<RuntimeResult> {
  const dataDir = mkdtempSync(path.join(tmpdir(), `bench-startup-${runtime}-`));
  try {
    console.log(`${runtime}: cold start (initdb) …`);
    const cold = startPlatform(runtime, dataDir);
    const coldMs = await untilReady(cold.platform, cold.began);
    await stop(cold.platform);
    console.log(`${runtime}: warm start …`);
    const warm = startPlatform(runtime, dataDir);
    const warmMs = await untilReady(warm.platform, warm.began);
    const ready = memory(dataDir);
    const cpuToReady = cpu(dataDir);
    console.log(`${runtime}: idle ${idleSeconds} s …`);
    await sleep(idleSeconds * 1_000);
    const idle = memory(dataDir);
    let rate = 0;
    if (loadSeconds > 0) {
      console.log(`${runtime}: ${loadSeconds} s of load …`);
      rate = await load(loadSeconds);
    }
    const loaded = memory(dataDir);
    console.log(`${runtime}: kill -9 each service …`);
    const restarts = await restartTimes(dataDir);
    await stop(warm.platform);
    return {
      runtime,
      cold_ms: coldMs,
      warm_ms: warmMs,
      restart_ms: restarts.times,
      cpu_to_ready_ms: cpuToReady,
      restart_cpu_ms: restarts.cpu,
      rss_ready_mb: megabytes(ready, 'rssMb'),
      rss_idle_mb: megabytes(idle, 'rssMb'),
      pss_idle_mb: megabytes(idle, 'pssMb'),
      private_idle_mb: megabytes(idle, 'privateMb'),
      rss_loaded_mb: megabytes(loaded, 'rssMb'),
      load_requests_per_second: rate,
    };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// The full build is timed separately; a smoke run leaves it to the start, which builds what is stale.
const buildBegan = Date.now();
if (!smoke)
  execFileSync(process.execPath, [MERCATO_CLI, 'build'], {
    cwd: root,
    stdio: 'inherit',
  });
const buildMs = Date.now() - buildBegan;

const results: RuntimeResult[] = [];
for (const runtime of runtimes) results.push(await measureRuntime(runtime));

const services = Object.keys(results[0]?.rss_idle_mb ?? {}).filter((name) => name !== 'postgres');
const max = (values: Record<string, number>) => Math.max(...services.map((name) => values[name] ?? 0));
const sum = (values: Record<string, number>) =>
  services.reduce((total, name) => total + (values[name] ?? 0), 0);
const mean = (values: Record<string, number>) =>
  Math.round(services.reduce((sum, name) => sum + (values[name] ?? 0), 0) / services.length);
const figure = (result: RuntimeResult) => ({
  'cold start, initdb (ms)': result.cold_ms,
  'warm start (ms)': result.warm_ms,
  'restart to ready, slowest (ms)': max(result.restart_ms),
  'CPU to ready, all services (ms)': Math.round(sum(result.cpu_to_ready_ms)),
  'CPU to ready, largest (ms)': Math.round(max(result.cpu_to_ready_ms)),
  'RSS at ready, largest (MB)': max(result.rss_ready_mb),
  'RSS idle, largest (MB)': max(result.rss_idle_mb),
  'RSS idle, mean (MB)': mean(result.rss_idle_mb),
  'private idle, largest (MB)': max(result.private_idle_mb),
  'whole platform idle, PSS (MB)': sum(result.pss_idle_mb) + (result.pss_idle_mb.postgres ?? 0),
  'RSS after load, largest (MB)': max(result.rss_loaded_mb),
  'load through the gateway (req/s)': result.load_requests_per_second,
});
const built = results.find((result) => result.runtime === 'built');
const source = results.find((result) => result.runtime === 'source');
/** The targets for built services: at most this much. */
const targets: Record<string, number> = {
  'cold start, initdb (ms)': 10_000,
  'warm start (ms)': 6_000,
  'restart to ready, slowest (ms)': 1_000,
  'RSS idle, largest (MB)': 80,
  'whole platform idle, PSS (MB)': 1_536,
};
const verdict = (measure: string, value: number | undefined): string => {
  const target = targets[measure];
  if (target === undefined || value === undefined) return '';
  return value <= target
    ? 'met'
    : `missed by ${value - target} (${Math.round((value / target - 1) * 100)} %)`;
};
const builtFigures = built ? figure(built) : undefined;
const sourceFigures = source ? figure(source) : undefined;
const rows = Object.keys(builtFigures ?? sourceFigures ?? {}).map((measure) => {
  const b = builtFigures?.[measure as keyof typeof builtFigures];
  const s = sourceFigures?.[measure as keyof typeof sourceFigures];
  return {
    measure,
    built: b ?? '-',
    'tsx (baseline)': s ?? '-',
    'built / tsx': b !== undefined && s ? Math.round((b / s) * 100) / 100 : '-',
    target: targets[measure] === undefined ? '' : `≤ ${targets[measure]}`,
    'built vs target': verdict(measure, b),
  };
});
console.log(`\nbuild of every service from scratch (esbuild and the web app): ${buildMs} ms`);
console.table(rows);
for (const result of results) {
  console.log(`\n${result.runtime}: per process`);
  console.table(
    [...services, 'postgres'].map((name) => ({
      process: name,
      'CPU to ready ms': Math.round(result.cpu_to_ready_ms[name] ?? 0) || '-',
      'restart ms': result.restart_ms[name] ?? '-',
      'restart CPU ms': result.restart_cpu_ms[name] ?? '-',
      'RSS ready MB': result.rss_ready_mb[name],
      'RSS idle MB': result.rss_idle_mb[name],
      'PSS idle MB': result.pss_idle_mb[name],
      'private idle MB': result.private_idle_mb[name],
      'RSS loaded MB': result.rss_loaded_mb[name],
    })),
  );
}
if (built) {
  const whole = (figure: Record<string, number>) => sum(figure) + (figure.postgres ?? 0);
  const gb = (mb: number) => Math.round((mb / 1024) * 100) / 100;
  console.log(
    `\n${services.length} services idle: RSS ~${mean(built.rss_idle_mb)} MB each, private ~${mean(built.private_idle_mb)} MB. ` +
      `With PostgreSQL (postmaster and backends): ${gb(whole(built.pss_idle_mb))} GB by PSS, what the machine spends ` +
      `(target ≤ 1.5 GB); ${gb(whole(built.rss_idle_mb))} GB by summed RSS, which counts the pages the processes share once each`,
  );
}

const output = path.join(root, 'bench', 'results', 'startup.json');
mkdirSync(path.dirname(output), { recursive: true });
writeFileSync(
  output,
  `${JSON.stringify({ date: new Date().toISOString(), cpus: cpus().length, node: process.version, build_ms: buildMs, idle_seconds: idleSeconds, load_seconds: loadSeconds, results }, null, 2)}\n`,
);
console.log(`wrote ${path.relative(root, output)}`);

// A broken bench, not a slow platform: every phase must have produced its figures.
const broken = results.flatMap((result) => [
  ...(result.cold_ms > 0 && result.warm_ms > 0 ? [] : [`${result.runtime}: no start time`]),
  ...services
    .filter((name) => !(result.cpu_to_ready_ms[name] && result.rss_idle_mb[name]))
    .map((name) => `${result.runtime}: ${name} was not running at ready or idle`),
  ...(Object.keys(result.restart_ms).length > 0 ? [] : [`${result.runtime}: no restart measured`]),
]);
if (broken.length > 0) {
  console.error(`bench/startup broke:\n  ${broken.join('\n  ')}`);
  process.exit(1);
}
process.exit(0);
