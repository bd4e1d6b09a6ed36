/**
 * bench/orders — the PlaceOrder path end to end, through the gateway, as clients see it:
 *   - capacity: orders offered at BENCH_RATE/s (open loop) for BENCH_SECONDS; accepted/s, confirmed/s
 *     (sagas completed per second of the run), p50/p99 accept latency and time-to-confirmed;
 *   - latency at half that: offered at half the confirmed/s just measured; p50/p99 accept;
 *   - what limits it: CPU milliseconds per order of each process (from /proc, Linux) and PostgreSQL
 *     transactions per order during the capacity phase, beside the CPU one baseline transaction
 *     cost, so an order's cost reads as "N baseline transactions".
 * In embedded mode (the default `npm start`), embedded-untraced (the same with MERCATO_TRACES=false:
 * spans are still made, so trace ids reach logs, but none is exported to the supervisor's store —
 * the difference is what the console's traces cost) and infra mode (MERCATO_BUS=nats, Redis rate
 * limits, the machine's PostgreSQL), each beside PostgreSQL's single-row INSERT … COMMIT txn/s
 * measured in the same run on the same server (the baseline), with the ratio.
 *
 *   npm run bench:orders
 *   BENCH_MODES=embedded,embedded-untraced BENCH_RATE=80 BENCH_SECONDS=20 npm run bench:orders
 *
 * Writes bench/results/orders.json.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ProcessUnderTest, waitFor } from '@mercato/chassis/testing';
import pg from 'pg';
import { postgresInsertBaseline } from '../baselines.ts';
import { cpuBetween, type ProcessLabeller, sampleCpu } from '../process-cpu.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const knownModes = ['embedded', 'embedded-untraced', 'infra'];
const modes = (process.env.BENCH_MODES ?? knownModes.join(',')).split(',');
const seconds = Number(process.env.BENCH_SECONDS ?? 20);
const rate = Number(process.env.BENCH_RATE ?? 40);
const infraPostgres = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ports = { postgres: 25396, gateway: 18680, base: 14701, grpcBase: 15701 };
const gateway = `http://127.0.0.1:${ports.gateway}`;
const skus = ['BOK-0001', 'BOK-0002', 'BOK-0003', 'KIT-0001', 'KIT-0002', 'APP-0001', 'APP-0002', 'ELE-0001'];

interface Phase {
  offered_per_s: number;
  seconds: number;
  offered: number;
  accepted: number;
  accepted_per_s: number;
  confirmed: number;
  confirmed_per_s: number;
  cancelled: number;
  unfinished: number;
  statuses: Record<string, number>;
  accept_p50_ms: number;
  accept_p99_ms: number;
  confirm_p50_ms: number;
  confirm_p99_ms: number;
}

const percentile = (values: number[], p: number): number => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number);
};

function startPlatform(mode: string, dataDir: string, prefix: string): ProcessUnderTest {
  return new ProcessUnderTest(['--import', 'tsx', 'apps/cli/src/main.ts', 'start'], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/root',
      MERCATO_DATA_DIR: dataDir,
      MERCATO_PG_PORT: String(ports.postgres),
      MERCATO_GATEWAY_PORT: String(ports.gateway),
      MERCATO_PORT_BASE: String(ports.base),
      MERCATO_GRPC_PORT_BASE: String(ports.grpcBase),
      GATEWAY_RATE_LIMIT_DEFAULT: 'off',
      GATEWAY_RATE_LIMIT_CREDENTIALS: 'off',
      LOG_LEVEL: 'warn',
      ...(mode === 'embedded-untraced' ? { MERCATO_TRACES: 'false' } : {}),
      // What is measured is PlaceOrder: confirmed orders are not shipped.
      FULFILLMENT_WORKERS: '0',
      // Stock is not what is measured: every demo SKU gets plenty (see seedStock below).
      ...(mode === 'infra'
        ? {
            DATABASE_URL: infraPostgres,
            MERCATO_DB_PREFIX: prefix,
            MERCATO_BUS: 'nats',
            NATS_URL: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
            GATEWAY_RATE_LIMIT_STORE: 'redis',
            REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
          }
        : {}),
    },
  });
}

async function customers(count: number): Promise<string[]> {
  const tokens: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const email = `bench-${Date.now()}-${index}@mercato.test`;
    const post = (route: string, body: unknown) =>
      fetch(`${gateway}${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    await post('/api/auth/register', { email, password: 'bench password 2026', name: 'Bench' });
    const login = (await (
      await post('/api/auth/login', { email, password: 'bench password 2026' })
    ).json()) as {
      access_token: string;
    };
    tokens.push(login.access_token);
  }
  for (const token of tokens)
    await waitFor('the customer profile', async () => {
      const me = await fetch(`${gateway}/api/customers/me`, {
        headers: { authorization: `Bearer ${token}` },
      });
      return me.status === 200;
    });
  return tokens;
}

/** Offers orders at `perSecond` for `duration` s without waiting for answers (open loop). */
async function offer(tokens: string[], perSecond: number, duration: number, tag: string) {
  const latencies: number[] = [];
  const accepted: string[] = [];
  const statuses: Record<string, number> = {};
  let offered = 0;
  const inFlight = new Set<Promise<void>>();
  const began = performance.now();
  const total = Math.round(perSecond * duration);
  for (let index = 0; index < total; index += 1) {
    const due = began + (index * 1_000) / perSecond;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    offered += 1;
    const sent = performance.now();
    const request = fetch(`${gateway}/api/orders`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${tokens[index % tokens.length]}`,
        'idempotency-key': `bench-${tag}-${index}`,
      },
      body: JSON.stringify({
        items: [{ sku: skus[index % skus.length], quantity: 1 }],
        shipping_address: '1 Bench Road',
      }),
    })
      .then(async (response) => {
        const body = (await response.json()) as { order_id?: string; code?: string };
        const label = response.status === 202 ? '202' : `${response.status} ${body.code ?? ''}`;
        statuses[label] = (statuses[label] ?? 0) + 1;
        if (response.status === 202 && body.order_id) {
          latencies.push(performance.now() - sent);
          accepted.push(body.order_id);
        }
      })
      .catch(() => {
        statuses.failed = (statuses.failed ?? 0) + 1;
      });
    inFlight.add(request);
    void request.finally(() => inFlight.delete(request));
  }
  await Promise.all(inFlight);
  return { offered, accepted, latencies, statuses, elapsed: (performance.now() - began) / 1_000 };
}

/** From the order service's own store: when each order was placed and confirmed or cancelled. */
async function outcomes(orderDb: pg.Client, orderIds: string[]) {
  // Orders still in their saga after this long are reported as unfinished, not waited for.
  await waitFor(
    'every saga of the phase finished',
    async () => {
      const { rows } = await orderDb.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM saga_instances WHERE status IN ('running', 'compensating')`,
      );
      return rows[0]?.n === 0;
    },
    180_000,
    250,
  ).catch((error: unknown) => console.error(`bench/orders: ${(error as Error).message}`));
  const { rows } = await orderDb.query<{ placed: Date; ended: Date; type: string }>(
    `SELECT p.recorded_at AS placed, e.recorded_at AS ended, e.event_type AS type
       FROM es_events p JOIN es_events e ON e.stream_id = p.stream_id
      WHERE p.stream_id = ANY($1::text[]) AND p.stream_version = 1
        AND e.event_type IN ('OrderConfirmed', 'OrderCancelled', 'OrderFailed')`,
    [orderIds.map((id) => `order-${id}`)],
  );
  const confirmed = rows.filter((row) => row.type === 'OrderConfirmed');
  const first = Math.min(...rows.map((row) => row.placed.getTime()));
  const last = Math.max(...confirmed.map((row) => row.ended.getTime()));
  return {
    confirmed: confirmed.length,
    cancelled: rows.length - confirmed.length,
    unfinished: orderIds.length - rows.length,
    confirmedPerSecond: confirmed.length > 0 ? confirmed.length / ((last - first) / 1_000) : 0,
    confirmMs: confirmed.map((row) => row.ended.getTime() - row.placed.getTime()),
  };
}

interface Cost {
  /** CPU ms per finished order, per process (services by name, postgres, nats, redis, …). */
  cpu_ms_per_order: Record<string, number>;
  cpu_ms_per_order_total: number;
  pg_transactions_per_order: number;
}

interface Meter {
  labeller: ProcessLabeller;
  /** Committed + rolled back transactions on the platform's databases so far. */
  transactions: () => Promise<number>;
}

async function measured<T>(meter: Meter, work: () => Promise<T>) {
  const cpuBefore = sampleCpu(meter.labeller);
  const transactionsBefore = await meter.transactions();
  const result = await work();
  // PostgreSQL publishes a backend's counters within a second of its transactions.
  await sleep(1_500);
  const cpuAfter = sampleCpu(meter.labeller);
  return {
    result,
    cpu: cpuBefore && cpuAfter ? cpuBetween(cpuBefore, cpuAfter) : [],
    transactions: (await meter.transactions()) - transactionsBefore,
  };
}

const perUnit = (value: number, units: number) => Math.round((value / Math.max(1, units)) * 10) / 10;

async function phase(
  tokens: string[],
  orderDb: pg.Client,
  perSecond: number,
  tag: string,
  meter: Meter,
): Promise<Phase & { cost: Cost }> {
  const {
    result: measuredRun,
    cpu,
    transactions,
  } = await measured(meter, async () => {
    const offered = await offer(tokens, perSecond, seconds, tag);
    return { offered, outcome: await outcomes(orderDb, offered.accepted) };
  });
  const { offered: run, outcome: result } = measuredRun;
  const finished = result.confirmed + result.cancelled;
  return {
    cost: {
      cpu_ms_per_order: Object.fromEntries(cpu.map(([name, ms]) => [name, perUnit(ms, finished)])),
      cpu_ms_per_order_total: perUnit(
        cpu.reduce((sum, [, ms]) => sum + ms, 0),
        finished,
      ),
      pg_transactions_per_order: perUnit(transactions, finished),
    },
    offered_per_s: perSecond,
    seconds,
    offered: run.offered,
    accepted: run.accepted.length,
    accepted_per_s: Math.round(run.accepted.length / run.elapsed),
    confirmed: result.confirmed,
    confirmed_per_s: Math.round(result.confirmedPerSecond),
    cancelled: result.cancelled,
    unfinished: result.unfinished,
    statuses: run.statuses,
    accept_p50_ms: percentile(run.latencies, 50),
    accept_p99_ms: percentile(run.latencies, 99),
    confirm_p50_ms: percentile(result.confirmMs, 50),
    confirm_p99_ms: percentile(result.confirmMs, 99),
  };
}

async function benchMode(mode: string) {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'mercato-bench-orders-'));
  const prefix = `bench${Date.now().toString(36)}_`;
  const platform = startPlatform(mode, dataDir, prefix);
  try {
    await platform.waitForLine(/all services ready in/, 180_000);
    const serverUrl =
      mode === 'infra'
        ? infraPostgres
        : `postgres://postgres:${encodeURIComponent(readFileSync(path.join(dataDir, 'postgres-superuser'), 'utf8').trim())}@127.0.0.1:${ports.postgres}/postgres`;
    const orderDbUrl = new URL(serverUrl);
    orderDbUrl.pathname = `/${mode === 'infra' ? prefix : ''}order`;
    const inventoryUrl = new URL(serverUrl);
    inventoryUrl.pathname = `/${mode === 'infra' ? prefix : ''}inventory`;
    const inventory = new pg.Client({ connectionString: inventoryUrl.toString() });
    inventory.on('error', () => undefined);
    await inventory.connect();
    await inventory.query('UPDATE stock_levels SET available = 1000000');
    await inventory.end();
    const orderDb = new pg.Client({ connectionString: orderDbUrl.toString() });
    orderDb.on('error', () => undefined);
    await orderDb.connect();

    const meter = platformMeter(dataDir, serverUrl, mode === 'infra' ? prefix : '');
    const baselineSeconds = 5;
    const { result: baseline, cpu: baselineCpu } = await measured(meter, () =>
      postgresInsertBaseline({ url: serverUrl, clients: 16, seconds: baselineSeconds }),
    );
    const baselineCpuMs = perUnit(
      baselineCpu.reduce((sum, [, ms]) => sum + ms, 0) * 1_000,
      baseline * baselineSeconds,
    );
    const tokens = await customers(20);
    const capacity = await phase(tokens, orderDb, rate, `cap-${Date.now()}`, meter);
    const half = Math.max(1, Math.round(capacity.confirmed_per_s / 2));
    const atHalf = await phase(tokens, orderDb, half, `half-${Date.now()}`, meter);
    await orderDb.end();
    return {
      mode,
      baseline_insert_tps: baseline,
      /** Machine CPU (all processes) per baseline transaction, in microseconds. */
      baseline_cpu_us_per_txn: baselineCpuMs,
      capacity,
      at_half: atHalf,
    };
  } finally {
    platform.child.kill('SIGINT');
    await Promise.race([platform.exited(), sleep(20_000)]);
    rmSync(dataDir, { recursive: true, force: true });
    if (mode === 'infra') await dropInfraDatabases(prefix);
  }
}

/** Names the platform's processes from its run state; counts its databases' transactions. */
function platformMeter(dataDir: string, serverUrl: string, databasePrefix: string): Meter {
  const state = JSON.parse(readFileSync(path.join(dataDir, 'run', 'state.json'), 'utf8')) as {
    supervisor_pid?: number;
    services: Record<string, { pid?: number }>;
  };
  const services = new Map(
    Object.entries(state.services).flatMap(([name, service]) => (service.pid ? [[service.pid, name]] : [])),
  );
  // The supervisor receives every span and log line: its CPU is part of what an order costs.
  if (state.supervisor_pid) services.set(state.supervisor_pid, 'supervisor');
  const commands: Record<string, string> = {
    postgres: 'postgres',
    'nats-server': 'nats',
    'redis-server': 'redis',
  };
  const labeller: ProcessLabeller = (pid, command) =>
    services.get(pid) ?? commands[command] ?? (pid === process.pid ? 'bench client' : undefined);
  return {
    labeller,
    transactions: async () => {
      const admin = new pg.Client({ connectionString: serverUrl });
      await admin.connect();
      try {
        const { rows } = await admin.query<{ n: string }>(
          `SELECT coalesce(sum(xact_commit + xact_rollback), 0)::text AS n FROM pg_stat_database
            WHERE datname LIKE $1 AND datname NOT IN ('template0', 'template1')`,
          [`${databasePrefix}%`],
        );
        return Number(rows[0]?.n ?? 0);
      } finally {
        await admin.end();
      }
    },
  };
}

async function dropInfraDatabases(prefix: string) {
  const admin = new pg.Client({ connectionString: infraPostgres });
  await admin.connect();
  const { rows } = await admin.query<{ datname: string }>(
    'SELECT datname FROM pg_database WHERE datname LIKE $1',
    [`${prefix}%`],
  );
  for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  const roles = await admin.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE rolname LIKE $1', [
    `${prefix}%`,
  ]);
  for (const { rolname } of roles.rows) await admin.query(`DROP ROLE IF EXISTS "${rolname}"`);
  await admin.end();
}

const results: Awaited<ReturnType<typeof benchMode>>[] = [];
for (const mode of modes) {
  if (!knownModes.includes(mode)) {
    console.error(`bench/orders: unknown mode "${mode}" in BENCH_MODES (expected ${knownModes.join(', ')})`);
    process.exit(64);
  }
  results.push(await benchMode(mode));
}

const row = (label: string, values: (string | number)[]) =>
  `${label.padEnd(30)}${values.map((v) => String(v).padStart(14)).join('')}`;
console.log(`\nbench/orders — offered ${rate}/s for ${seconds} s, then half the confirmed rate\n`);
console.log(
  row(
    '',
    results.map((r) => r.mode),
  ),
);
console.log(
  row(
    'PG INSERT…COMMIT txn/s (base)',
    results.map((r) => r.baseline_insert_tps),
  ),
);
type Result = (typeof results)[number];
const lines: [string, (r: Result) => string | number][] = [
  ['accepted/s', (r: Result) => r.capacity.accepted_per_s],
  ['confirmed/s', (r: Result) => r.capacity.confirmed_per_s],
  [
    'confirmed/s ÷ baseline',
    (r: Result) => `1/${(r.baseline_insert_tps / Math.max(1, r.capacity.confirmed_per_s)).toFixed(1)}`,
  ],
  ['accept p50 / p99 ms', (r: Result) => `${r.capacity.accept_p50_ms} / ${r.capacity.accept_p99_ms}`],
  ['to confirmed p50 / p99 ms', (r: Result) => `${r.capacity.confirm_p50_ms} / ${r.capacity.confirm_p99_ms}`],
  [
    'cancelled, unfinished (of acc.)',
    (r: Result) => `${r.capacity.cancelled}, ${r.capacity.unfinished} / ${r.capacity.accepted}`,
  ],
  ['at half: offered/s', (r: Result) => r.at_half.offered_per_s],
  ['at half: accept p50 / p99 ms', (r: Result) => `${r.at_half.accept_p50_ms} / ${r.at_half.accept_p99_ms}`],
  [
    'at half: to confirmed p50/p99',
    (r: Result) => `${r.at_half.confirm_p50_ms} / ${r.at_half.confirm_p99_ms}`,
  ],
];
for (const [label, pick] of lines) console.log(row(label, results.map(pick)));

// What limits it: where the CPU of the capacity phase went, per finished order.
console.log('\nCPU per order in the capacity phase (ms, all processes, from /proc)\n');
console.log(
  row(
    '',
    results.map((r) => r.mode),
  ),
);
const processes = [...new Set(results.flatMap((r) => Object.keys(r.capacity.cost.cpu_ms_per_order)))].sort(
  (a, b) =>
    (results[0]?.capacity.cost.cpu_ms_per_order[b] ?? 0) -
    (results[0]?.capacity.cost.cpu_ms_per_order[a] ?? 0),
);
for (const name of processes)
  console.log(
    row(
      `  ${name}`,
      results.map((r) => r.capacity.cost.cpu_ms_per_order[name] ?? 0),
    ),
  );
const costLines: [string, (r: Result) => string | number][] = [
  ['total CPU ms / order', (r) => r.capacity.cost.cpu_ms_per_order_total],
  ['baseline: CPU µs / INSERT txn', (r) => r.baseline_cpu_us_per_txn],
  [
    'order ÷ baseline txn (CPU)',
    (r) =>
      `${Math.round((r.capacity.cost.cpu_ms_per_order_total * 1_000) / Math.max(1, r.baseline_cpu_us_per_txn))}×`,
  ],
  ['PG transactions / order', (r) => r.capacity.cost.pg_transactions_per_order],
];
for (const [label, pick] of costLines) console.log(row(label, results.map(pick)));
mkdirSync(path.join(root, 'bench/results'), { recursive: true });
writeFileSync(
  path.join(root, 'bench/results/orders.json'),
  `${JSON.stringify({ rate, seconds, results }, null, 2)}\n`,
);
console.log('\nwritten to bench/results/orders.json');
