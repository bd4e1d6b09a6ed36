/**
 * bench/orders — what an order costs, end to end through the gateway, as clients place them:
 *   - scenarios: `placement` (placed → confirmed; shipping paused with FULFILLMENT_WORKERS=0) and
 *     `lifecycle` (shipping, mails and read models on; counted until every order is delivered);
 *   - load: a closed loop that keeps BENCH_IN_FLIGHT orders in their saga at once for BENCH_SECONDS,
 *     so the platform runs at (not past) its capacity and no refused request's CPU is charged to the
 *     accepted ones; confirmed/s, p50/p99 accept latency and time-to-confirmed;
 *   - cost: CPU milliseconds of each process (from /proc) per confirmed order and per message
 *     delivery (rows the consumers' inboxes gained), PostgreSQL transactions per order and per
 *     delivery, beside the CPU one baseline `INSERT … COMMIT` transaction costs in the same run;
 *   - placement also offers half the confirmed rate as an open loop, for the latency figures.
 * Platforms (BENCH_MODES): embedded (`npm start`: each service records new traces within its
 * budget, MERCATO_TRACE_ROOTS_PER_SECOND, then a share), embedded-all-traced (every trace recorded,
 * OTEL_TRACES_SAMPLER=parentbased_always_on: the cost before that budget), embedded-untraced
 * (MERCATO_TRACES=false: spans made but not exported),
 * embedded-unprepared (DATABASE_PREPARED_STATEMENTS=false: every statement parsed and planned on
 * each call, the baseline of prepared statements),
 * embedded-mtls (`--mtls`: every call between services over mutual TLS and authorized by the call
 * policy; run with embedded, it prints what mTLS costs per order) and infra (NATS bus, Redis rate
 * limits, the machine's PostgreSQL).
 *
 * BENCH_PROFILE=1 starts each platform twice (the second time warm): the second time every Node
 * process runs with `--cpu-prof` and PostgreSQL with pg_stat_statements, and the bench prints the
 * top self-time functions of the busiest processes and the statements per order of the measured
 * phase (profiles under bench/results/orders-profiles/). BENCH_SMOKE=1: one short placement run.
 * BENCH_WINDOW_SECONDS=60 with a long BENCH_SECONDS (a soak, e.g. 600): the closed loop's cost window
 * by window beside the message store's queue table (rows live and dead, size, autovacuum's visits),
 * the first window the baseline: whether an order costs more after minutes than in the first.
 *
 *   npm run bench:orders
 *   BENCH_SCENARIOS=placement BENCH_PROFILE=1 npm run bench:orders
 *
 * Writes bench/results/orders.json (orders-mtls.json when embedded-mtls is among the modes:
 *   BENCH_MODES=embedded,embedded-mtls BENCH_SCENARIOS=placement npm run bench:orders).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ProcessUnderTest } from '@mercato/chassis/testing';
import pg from 'pg';
import { MERCATO_CLI } from '../../e2e/support/platform-process.ts';
import { platformDataDir } from '../../e2e/support/platform-template.ts';
import { postgresInsertBaseline } from '../baselines.ts';
import { customers, platformEnvironment } from '../platform.ts';
import { cpuBetween, type ProcessLabeller, parentOf, privateMemoryMb, sampleCpu } from '../process-cpu.ts';
import { type CostWindow, formatCostWindows, startCostWindows } from './cost-windows.ts';
import { bundleUrls, type ProfileSummary, summariseProfiles } from './cpu-profiles.ts';
import { libraryMaps } from './library-maps.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const smoke = process.env.BENCH_SMOKE === '1';
const knownModes = [
  'embedded',
  'embedded-all-traced',
  'embedded-untraced',
  'embedded-unprepared',
  'embedded-mtls',
  'infra',
];
const knownScenarios = ['placement', 'lifecycle'] as const;
type Scenario = (typeof knownScenarios)[number];
const modes = (process.env.BENCH_MODES ?? 'embedded').split(',');
const scenarios = (process.env.BENCH_SCENARIOS ?? (smoke ? 'placement' : knownScenarios.join(','))).split(
  ',',
) as Scenario[];
const seconds = Number(process.env.BENCH_SECONDS ?? (smoke ? 4 : 20));
const inFlight = Number(process.env.BENCH_IN_FLIGHT ?? (smoke ? 2 : 8));
const customerCount = smoke ? 2 : 20;
const halfPhase = !smoke && process.env.BENCH_HALF !== '0';
const idleSeconds = Number(process.env.BENCH_IDLE_SECONDS ?? (smoke ? 2 : 10));
const windowSeconds = Number(process.env.BENCH_WINDOW_SECONDS ?? (smoke ? 2 : 0));
const profiling = process.env.BENCH_PROFILE === '1';
const infraPostgres = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ports = { postgres: 25396, gateway: 18680, base: 14701, grpcBase: 15701 };
const gateway = `http://127.0.0.1:${ports.gateway}`;
const skus = ['BOK-0001', 'BOK-0002', 'BOK-0003', 'KIT-0001', 'KIT-0002', 'APP-0001', 'APP-0002', 'ELE-0001'];
const sagaEnds = ['OrderConfirmed', 'OrderCancelled', 'OrderFailed'];
/** When an order's life is over, per scenario (a cancelled or failed order ends there too). */
const lifeEnds: Record<Scenario, string[]> = {
  placement: sagaEnds,
  lifecycle: ['OrderDelivered', 'OrderCancelled', 'OrderFailed'],
};
/** Processes outside the platform: shown, not counted in an order's cost. */
const notPlatform = new Set(['other', 'bench client']);

for (const mode of modes)
  if (!knownModes.includes(mode)) {
    console.error(`bench/orders: unknown mode "${mode}" in BENCH_MODES (expected ${knownModes.join(', ')})`);
    process.exit(64);
  }
for (const scenario of scenarios)
  if (!knownScenarios.includes(scenario)) {
    console.error(
      `bench/orders: unknown scenario "${scenario}" in BENCH_SCENARIOS (expected ${knownScenarios.join(', ')})`,
    );
    process.exit(64);
  }

const percentile = (values: number[], p: number): number => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number);
};
const perUnit = (value: number, units: number) => Math.round((value / Math.max(1, units)) * 10) / 10;
const monotonicUs = () => Number(process.hrtime.bigint() / 1_000n);

function startPlatform(
  mode: string,
  scenario: Scenario,
  dataDir: string,
  prefix: string,
  profileDir?: string,
): ProcessUnderTest {
  const profileFlags = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  return new ProcessUnderTest([...profileFlags, MERCATO_CLI, 'start'], {
    cwd: root,
    env: platformEnvironment(dataDir, ports, {
      GATEWAY_RATE_LIMIT_DEFAULT: 'off',
      GATEWAY_RATE_LIMIT_CREDENTIALS: 'off',
      // Every service process writes its profile on exit (the supervisor too, by its own flags).
      ...(profileDir ? { MERCATO_NODE_FLAGS: profileFlags.join(' ') } : {}),
      ...(mode === 'embedded-untraced' ? { MERCATO_TRACES: 'false' } : {}),
      ...(mode === 'embedded-all-traced' ? { OTEL_TRACES_SAMPLER: 'parentbased_always_on' } : {}),
      ...(mode === 'embedded-unprepared' ? { DATABASE_PREPARED_STATEMENTS: 'false' } : {}),
      ...(mode === 'embedded-mtls' ? { MERCATO_MTLS: 'true' } : {}),
      // Placement alone: confirmed orders are not shipped.
      ...(scenario === 'placement' ? { FULFILLMENT_WORKERS: '0' } : {}),
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
    }),
  });
}

async function stopPlatform(platform: ProcessUnderTest): Promise<void> {
  platform.child.kill('SIGINT');
  await Promise.race([platform.exited(), sleep(30_000, undefined, { ref: false })]);
}

interface Placed {
  statuses: Record<string, number>;
  accepted: string[];
  latencies: number[];
}

/** One PlaceOrder through the gateway; records its status and, when accepted, its id. */
async function placeOrder(
  token: string,
  key: string,
  sku: string,
  into: Placed,
): Promise<string | undefined> {
  const sent = performance.now();
  try {
    const response = await fetch(`${gateway}/api/orders`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${token}`,
        'idempotency-key': key,
      },
      body: JSON.stringify({ items: [{ sku, quantity: 1 }], shipping_address: '1 Bench Road' }),
    });
    const body = (await response.json()) as { order_id?: string; code?: string };
    const label = response.status === 202 ? '202' : `${response.status} ${body.code ?? ''}`;
    into.statuses[label] = (into.statuses[label] ?? 0) + 1;
    if (response.status !== 202 || !body.order_id) return undefined;
    into.latencies.push(performance.now() - sent);
    into.accepted.push(body.order_id);
    return body.order_id;
  } catch {
    into.statuses.failed = (into.statuses.failed ?? 0) + 1;
    return undefined;
  }
}

/**
 * Watches the order service's own store for orders reaching one of `ends`: one query per tick for
 * all outstanding orders (its transactions are counted, so the cost figures leave them out).
 */
class OrderWatch {
  readonly #db: pg.Client;
  readonly #outstanding = new Map<string, () => void>();
  readonly #ends: string[];
  queries = 0;
  /** Orders seen reaching one of the ends. */
  ended = 0;
  #timer: NodeJS.Timeout | undefined;
  #busy = false;

  constructor(db: pg.Client, ends: string[]) {
    this.#db = db;
    this.#ends = ends;
  }

  until(orderId: string): Promise<void> {
    return new Promise((resolve) => {
      this.#outstanding.set(`order-${orderId}`, resolve);
      this.#timer ??= setInterval(() => void this.#tick(), 200);
    });
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #tick(): Promise<void> {
    if (this.#busy || this.#outstanding.size === 0) return;
    this.#busy = true;
    try {
      this.queries += 1;
      const { rows } = await this.#db.query<{ stream_id: string }>(
        'SELECT DISTINCT stream_id FROM es_events WHERE stream_id = ANY($1::text[]) AND event_type = ANY($2::text[])',
        [[...this.#outstanding.keys()], this.#ends],
      );
      for (const { stream_id } of rows) {
        this.#outstanding.get(stream_id)?.();
        if (this.#outstanding.delete(stream_id)) this.ended += 1;
      }
    } catch {
      // The next tick asks again.
    } finally {
      this.#busy = false;
    }
  }
}

/** Keeps `window` orders in their saga at once for `duration` s; resolves once the last is placed. */
async function closedLoop(
  tokens: string[],
  watch: OrderWatch,
  window: number,
  duration: number,
  tag: string,
) {
  const placed: Placed = { statuses: {}, accepted: [], latencies: [] };
  const ends = performance.now() + duration * 1_000;
  let next = 0;
  await Promise.all(
    Array.from({ length: window }, async (_, client) => {
      while (performance.now() < ends) {
        const index = next++;
        const id = await placeOrder(
          tokens[(client + index) % tokens.length] as string,
          `bench-${tag}-${index}`,
          skus[index % skus.length] as string,
          placed,
        );
        if (id) await watch.until(id);
        else await sleep(100);
      }
    }),
  );
  return placed;
}

/**
 * One order placed and through its saga before anything is measured. A fresh platform's first
 * order opens every connection on its path and runs code not yet compiled: on a loaded CI machine
 * (two benchmarks and a test suite at once) the first placements passed the edge's 5 s deadline,
 * and the smoke run confirmed nothing. Asked again with the same key (idempotent) until accepted.
 */
async function warmUp(token: string, watch: OrderWatch): Promise<void> {
  const placed: Placed = { statuses: {}, accepted: [], latencies: [] };
  const key = `bench-warm-up-${Date.now()}`;
  const ends = performance.now() + 120_000;
  while (performance.now() < ends) {
    const id = await placeOrder(token, key, skus[0] as string, placed);
    if (id) {
      await Promise.race([watch.until(id), sleep(60_000, undefined, { ref: false })]);
      return;
    }
    await sleep(1_000);
  }
  throw new Error(`the platform took no warm-up order within 120 s: ${JSON.stringify(placed.statuses)}`);
}

/** Offers orders at `perSecond` for `duration` s without waiting for answers (open loop). */
async function openLoop(tokens: string[], perSecond: number, duration: number, tag: string) {
  const placed: Placed = { statuses: {}, accepted: [], latencies: [] };
  const inFlightRequests = new Set<Promise<unknown>>();
  const began = performance.now();
  for (let index = 0; index < Math.round(perSecond * duration); index += 1) {
    const wait = began + (index * 1_000) / perSecond - performance.now();
    if (wait > 1) await sleep(wait);
    const request = placeOrder(
      tokens[index % tokens.length] as string,
      `bench-${tag}-${index}`,
      skus[index % skus.length] as string,
      placed,
    );
    inFlightRequests.add(request);
    void request.finally(() => inFlightRequests.delete(request));
  }
  await Promise.all(inFlightRequests);
  return placed;
}

/** From the order service's store: each order's placing, its saga's end and its life's end. */
async function outcomes(orderDb: pg.Client, orderIds: string[], scenario: Scenario) {
  const { rows } = await orderDb.query<{ stream_id: string; type: string; at: Date; version: number }>(
    `SELECT stream_id, event_type AS type, recorded_at AS at, stream_version AS version FROM es_events
      WHERE stream_id = ANY($1::text[]) AND (stream_version = 1 OR event_type = ANY($2::text[]))`,
    [orderIds.map((id) => `order-${id}`), [...sagaEnds, ...lifeEnds[scenario]]],
  );
  const placedAt = new Map<string, number>();
  for (const row of rows) if (row.version === 1) placedAt.set(row.stream_id, row.at.getTime());
  const confirmed = rows.filter((row) => row.type === 'OrderConfirmed');
  const sagaEnded = rows.filter((row) => sagaEnds.includes(row.type));
  const delivered = rows.filter((row) => row.type === 'OrderDelivered');
  const first = Math.min(...placedAt.values());
  const last = Math.max(...confirmed.map((row) => row.at.getTime()));
  return {
    confirmed: confirmed.length,
    cancelled: sagaEnded.length - confirmed.length,
    unfinished: orderIds.length - sagaEnded.length,
    delivered: delivered.length,
    confirmedPerSecond: confirmed.length > 0 ? confirmed.length / ((last - first) / 1_000) : 0,
    confirmMs: confirmed.map((row) => row.at.getTime() - (placedAt.get(row.stream_id) ?? row.at.getTime())),
  };
}

/** Where the platform keeps its databases and what a measured stretch of it cost. */
interface Meter {
  labeller: ProcessLabeller;
  /**
   * Names the platform's PostgreSQL processes by what they serve (`db order`, `walwriter`,
   * `autovacuum`, …, from the title each sets in its command line); undefined for any other process.
   */
  postgresLabeller: ProcessLabeller;
  /** Committed + rolled back transactions on the platform's databases so far. */
  transactions: () => Promise<number>;
  /** Inbox rows per consumer group (`service/group`) so far: one per delivery handled. */
  deliveries: () => Promise<Map<string, number>>;
  /** Spans the supervisor's span store has received so far (undefined when it keeps none). */
  spans: () => Promise<number | undefined>;
  close: () => Promise<void>;
}

interface Cost {
  /** CPU ms per confirmed order, per process (services by name, postgres, …). */
  cpu_ms_per_order: Record<string, number>;
  cpu_ms_per_order_total: number;
  pg_transactions_per_order: number;
  /** PostgreSQL's share of `cpu_ms_per_order`, per database served or background process. */
  postgres_ms_per_order: Record<string, number>;
  deliveries: number;
  deliveries_per_order: number;
  deliveries_by_group: Record<string, number>;
  cpu_ms_per_delivery: number;
  pg_transactions_per_delivery: number;
  /** Spans the services recorded and exported, per order (what tracing's sampling left). */
  spans_per_order: number | null;
}

async function measured<T>(meter: Meter, work: () => Promise<T>) {
  const transactionsBefore = await meter.transactions();
  const deliveriesBefore = await meter.deliveries();
  const spansBefore = await meter.spans();
  const cpuBefore = sampleCpu(meter.labeller);
  const postgresBefore = sampleCpu(meter.postgresLabeller);
  const fromUs = monotonicUs();
  const result = await work();
  const toUs = monotonicUs();
  // Before the sessions go idle: what PostgreSQL's sessions hold of their own after the work.
  const postgresMemory = privateMemoryMb(meter.postgresLabeller);
  // PostgreSQL publishes a backend's counters within a second of its transactions.
  await sleep(1_500);
  const cpuAfter = sampleCpu(meter.labeller);
  const postgresAfter = sampleCpu(meter.postgresLabeller);
  const sampledS = (monotonicUs() - fromUs) / 1e6;
  const deliveriesAfter = await meter.deliveries();
  const spansAfter = await meter.spans();
  const deliveries = new Map(
    [...deliveriesAfter]
      .map(([group, n]): [string, number] => [group, n - (deliveriesBefore.get(group) ?? 0)])
      .filter(([, n]) => n > 0),
  );
  return {
    result,
    window: { fromUs, toUs },
    sampledS,
    /** MB of private memory (RssAnon) of PostgreSQL's sessions of the platform's databases, at the end. */
    postgresSessionsMb: Math.round(
      [...postgresMemory].filter(([name]) => name.startsWith('db ')).reduce((sum, [, mb]) => sum + mb, 0),
    ),
    cpu: cpuBefore && cpuAfter ? cpuBetween(cpuBefore, cpuAfter) : [],
    postgresCpu:
      postgresBefore && postgresAfter
        ? cpuBetween(postgresBefore, postgresAfter).filter(([name]) => name !== 'other')
        : [],
    transactions: (await meter.transactions()) - transactionsBefore,
    deliveries,
    spans: spansBefore === undefined || spansAfter === undefined ? undefined : spansAfter - spansBefore,
  };
}

/** What the platform spends doing nothing, per second: subtracted to give an order's own cost. */
interface Idle {
  cpu_ms_per_s: Record<string, number>;
  postgres_ms_per_s: Record<string, number>;
  transactions_per_s: number;
}

function costOf(
  gross: Array<[string, number]>,
  grossPostgres: Array<[string, number]>,
  grossTransactions: number,
  deliveries: Map<string, number>,
  spans: number | undefined,
  orders: number,
  idle: { rates: Idle; seconds: number } | undefined,
): Cost {
  // Net of idle: what the same stretch of time costs with no orders (polls, timers, metrics).
  const cpu = gross.map(([name, ms]): [string, number] => [
    name,
    Math.max(0, ms - (idle ? (idle.rates.cpu_ms_per_s[name] ?? 0) * idle.seconds : 0)),
  ]);
  const postgres = grossPostgres.map(([name, ms]): [string, number] => [
    name,
    Math.max(0, ms - (idle ? (idle.rates.postgres_ms_per_s[name] ?? 0) * idle.seconds : 0)),
  ]);
  const transactions = Math.max(
    0,
    grossTransactions - (idle ? idle.rates.transactions_per_s * idle.seconds : 0),
  );
  const platformMs = cpu.filter(([name]) => !notPlatform.has(name)).reduce((sum, [, ms]) => sum + ms, 0);
  const delivered = [...deliveries.values()].reduce((sum, n) => sum + n, 0);
  return {
    cpu_ms_per_order: Object.fromEntries(cpu.map(([name, ms]) => [name, perUnit(ms, orders)])),
    cpu_ms_per_order_total: perUnit(platformMs, orders),
    pg_transactions_per_order: perUnit(transactions, orders),
    postgres_ms_per_order: Object.fromEntries(
      postgres.sort((a, b) => b[1] - a[1]).map(([name, ms]) => [name, perUnit(ms, orders)]),
    ),
    deliveries: delivered,
    deliveries_per_order: perUnit(delivered, orders),
    deliveries_by_group: Object.fromEntries(
      [...deliveries].sort((a, b) => b[1] - a[1]).map(([group, n]) => [group, perUnit(n, orders)]),
    ),
    cpu_ms_per_delivery: perUnit(platformMs, delivered),
    pg_transactions_per_delivery: perUnit(transactions, delivered),
    spans_per_order: spans === undefined ? null : perUnit(spans, orders),
  };
}

interface Statement {
  database: string;
  query: string;
  calls_per_order: number;
  exec_ms_per_order: number;
}

async function statementsReset(serverUrl: string): Promise<void> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  await admin.query('SELECT pg_stat_statements_reset()');
  await admin.end();
}

interface StatementCount {
  database: string;
  query: string;
  calls: number;
  ms: number;
}

async function statementCounts(serverUrl: string): Promise<Map<string, StatementCount>> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  const { rows } = await admin.query<{
    key: string;
    datname: string;
    query: string;
    calls: string;
    ms: number;
  }>(
    // Summed over roles: pg_stat_statements keeps a row per role, and several services' roles run
    // the same statement in one database (every subscriber's claim in the message store's).
    `SELECT s.dbid || '/' || s.queryid AS key, min(d.datname) AS datname, min(s.query) AS query,
            sum(s.calls)::text AS calls, sum(s.total_exec_time) AS ms
       FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
      GROUP BY s.dbid, s.queryid`,
  );
  await admin.end();
  return new Map(
    rows.map((row) => [
      row.key,
      { database: row.datname, query: row.query, calls: Number(row.calls), ms: row.ms },
    ]),
  );
}

/** Statements per order, net of what the idle platform ran in the same time (`idleScale` × idle). */
function statementsPerOrder(
  run: Map<string, StatementCount>,
  idle: Map<string, StatementCount>,
  idleScale: number,
  orders: number,
) {
  const net = [...run].map(([key, statement]) => ({
    ...statement,
    calls: Math.max(0, statement.calls - (idle.get(key)?.calls ?? 0) * idleScale),
    ms: Math.max(0, statement.ms - (idle.get(key)?.ms ?? 0) * idleScale),
  }));
  const statements: Statement[] = net
    .filter((statement) => statement.calls >= orders / 2)
    .sort((a, b) => b.calls - a.calls)
    .map((statement) => ({
      database: statement.database,
      query: statement.query.replace(/\s+/g, ' ').slice(0, 160),
      calls_per_order: perUnit(statement.calls, orders),
      exec_ms_per_order: Math.round((statement.ms / Math.max(1, orders)) * 100) / 100,
    }));
  return {
    calls_per_order: perUnit(
      net.reduce((sum, statement) => sum + statement.calls, 0),
      orders,
    ),
    exec_ms_per_order: perUnit(
      net.reduce((sum, statement) => sum + statement.ms, 0),
      orders,
    ),
    top: statements.slice(0, 60),
  };
}

/**
 * What a PostgreSQL process serves, from the title it sets (`postgres: <user> <database> <client>
 * <state>` for a session, `postgres: walwriter` and the like for the server's own): `db <database>`
 * without the run's prefix, `autovacuum`, or the background process's name.
 */
function postgresRole(pid: number, databasePrefix: string): string {
  let title: string;
  try {
    title = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\u0000', ' ').trim();
  } catch {
    return 'ended';
  }
  if (!title.startsWith('postgres: ')) return 'postmaster';
  const words = title.slice('postgres: '.length).split(' ');
  const [first = '', database = '', client = ''] = words;
  if (first.startsWith('autovacuum')) return 'autovacuum';
  if (first === 'walsender') return 'walsender';
  // A session's third word is its client: `127.0.0.1(41234)` or `[local]`.
  if (/^(\[local\]|[0-9a-f.:]+\(\d+\))$/.test(client))
    return `db ${database.startsWith(databasePrefix) ? database.slice(databasePrefix.length) : database}`;
  return words.join(' ');
}

/** Names the platform's processes from its run state; counts its databases' transactions and deliveries. */
async function platformMeter(
  dataDir: string,
  serverUrl: string,
  databasePrefix: string,
  embedded: boolean,
): Promise<Meter> {
  const state = JSON.parse(readFileSync(path.join(dataDir, 'run', 'state.json'), 'utf8')) as {
    supervisor_pid?: number;
    supervisor?: { url?: string };
    services: Record<string, { pid?: number }>;
  };
  const adminToken = readFileSync(path.join(dataDir, 'run', 'admin-token'), 'utf8').trim();
  const services = new Map(
    Object.entries(state.services).flatMap(([name, service]) => (service.pid ? [[service.pid, name]] : [])),
  );
  // The supervisor receives every span and log line: its CPU is part of what an order costs.
  if (state.supervisor_pid) services.set(state.supervisor_pid, 'supervisor');
  // Embedded: only the platform's own server and its backends are "postgres" (others on the
  // machine are not this run's); infra: the shared server's processes, as closely as can be told.
  const postmaster = embedded
    ? Number(readFileSync(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0])
    : undefined;
  const commands: Record<string, string> = { 'nats-server': 'nats', 'redis-server': 'redis' };
  const labeller: ProcessLabeller = (pid, command) => {
    const service = services.get(pid);
    if (service) return service;
    if (command === 'postgres')
      return postmaster === undefined || pid === postmaster || parentOf(pid) === postmaster
        ? 'postgres'
        : undefined;
    return commands[command] ?? (pid === process.pid ? 'bench client' : undefined);
  };
  const postgresLabeller: ProcessLabeller = (pid, command) =>
    command === 'postgres' && labeller(pid, command) === 'postgres'
      ? postgresRole(pid, databasePrefix)
      : undefined;
  const connect = async (database: string) => {
    const url = new URL(serverUrl);
    url.pathname = `/${database}`;
    const client = new pg.Client({ connectionString: url.toString() });
    client.on('error', () => undefined);
    await client.connect();
    return client;
  };
  const admin = await connect(new URL(serverUrl).pathname.slice(1) || 'postgres');
  const { rows } = await admin.query<{ datname: string }>(
    `SELECT datname FROM pg_database WHERE datname LIKE $1 AND datname NOT IN ('template0', 'template1')`,
    [`${databasePrefix}%`],
  );
  const inboxes: Array<[string, pg.Client]> = [];
  for (const { datname } of rows) {
    const client = await connect(datname);
    const found = await client.query<{ t: string | null }>(`SELECT to_regclass('mercato_inbox')::text AS t`);
    if (found.rows[0]?.t) inboxes.push([datname.slice(databasePrefix.length), client]);
    else await client.end();
  }
  return {
    labeller,
    postgresLabeller,
    transactions: async () => {
      const { rows: counted } = await admin.query<{ n: string }>(
        `SELECT coalesce(sum(xact_commit + xact_rollback), 0)::text AS n FROM pg_stat_database
          WHERE datname LIKE $1 AND datname NOT IN ('template0', 'template1')`,
        [`${databasePrefix}%`],
      );
      return Number(counted[0]?.n ?? 0);
    },
    deliveries: async () => {
      const counts = new Map<string, number>();
      for (const [service, client] of inboxes) {
        const { rows: groups } = await client.query<{ group_name: string; n: number }>(
          'SELECT group_name, count(*)::int AS n FROM mercato_inbox GROUP BY group_name',
        );
        for (const group of groups) counts.set(`${service}/${group.group_name}`, group.n);
      }
      return counts;
    },
    spans: async () => {
      if (!state.supervisor?.url) return undefined;
      try {
        const response = await fetch(`${state.supervisor.url}/admin/traces?limit=1`, {
          headers: { authorization: `Bearer ${adminToken}` },
        });
        const body = (await response.json()) as { store?: { spans_received?: number } };
        return response.ok ? body.store?.spans_received : undefined;
      } catch {
        return undefined;
      }
    },
    close: async () => {
      await Promise.all([admin, ...inboxes.map(([, client]) => client)].map((client) => client.end()));
    },
  };
}

/**
 * Self time by package summed over every profiled Node process, with its share of their busy
 * time: where the platform's JavaScript processes spend their CPU, whichever process runs the code.
 */
function printPackagesAcross(profiles: readonly ProfileSummary[], label: string): void {
  const busy = profiles.reduce((sum, profile) => sum + profile.busy_ms, 0);
  const totals = new Map<string, number>();
  for (const profile of profiles)
    for (const { name, ms } of profile.top_packages) totals.set(name, (totals.get(name) ?? 0) + ms);
  console.log(
    `\nself time by package over the ${profiles.length} Node processes (${label}): ${busy} ms busy`,
  );
  for (const [name, ms] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, 20))
    console.log(
      `  ${ms.toFixed(0).padStart(7)} ms ${((100 * ms) / Math.max(busy, 1)).toFixed(1).padStart(5)} %  ${name}`,
    );
}

async function benchRun(mode: string, scenario: Scenario) {
  const embedded = mode !== 'infra';
  // From the e2e suites' template of this build when there is one (bench/platform.ts says why); the
  // infra mode runs on NATS with no embedded server, which platformDataDir starts from an empty folder.
  const dataDir = await platformDataDir('bench-orders', embedded ? {} : { MERCATO_BUS: 'nats' });
  const prefix = `bench${Date.now().toString(36)}_`;
  const profileDir = profiling
    ? path.join(root, 'bench/results/orders-profiles', `${mode}-${scenario}`)
    : undefined;
  let platform = startPlatform(mode, scenario, dataDir, prefix);
  try {
    await platform.waitForLine(/all services ready in/, 180_000);
    if (profileDir) {
      // pg_stat_statements must be loaded at the server's start: stop, configure, start warm.
      await stopPlatform(platform);
      if (embedded)
        await appendFile(
          path.join(dataDir, 'postgres', 'postgresql.auto.conf'),
          "\nshared_preload_libraries = 'pg_stat_statements'\n",
        );
      rmSync(profileDir, { recursive: true, force: true });
      mkdirSync(profileDir, { recursive: true });
      platform = startPlatform(mode, scenario, dataDir, prefix, profileDir);
      await platform.waitForLine(/all services ready in/, 180_000);
    }
    const serverUrl = embedded
      ? `postgres://postgres:${encodeURIComponent(readFileSync(path.join(dataDir, 'postgres-superuser'), 'utf8').trim())}@127.0.0.1:${ports.postgres}/postgres`
      : infraPostgres;
    const dbUrl = (service: string) => {
      const url = new URL(serverUrl);
      url.pathname = `/${embedded ? '' : prefix}${service}`;
      return url.toString();
    };
    const inventory = new pg.Client({ connectionString: dbUrl('inventory') });
    inventory.on('error', () => undefined);
    await inventory.connect();
    // Stock is not what is measured: every demo SKU gets plenty.
    await inventory.query('UPDATE stock_levels SET available = 1000000');
    await inventory.end();
    const orderDb = new pg.Client({ connectionString: dbUrl('order') });
    orderDb.on('error', () => undefined);
    await orderDb.connect();

    const meter = await platformMeter(dataDir, serverUrl, embedded ? '' : prefix, embedded);
    const baselineSeconds = smoke ? 1 : 5;
    const insertBaseline = async () => {
      const { result: rate, cpu } = await measured(meter, () =>
        postgresInsertBaseline({ url: serverUrl, clients: 16, seconds: baselineSeconds }),
      );
      const cpuUs = perUnit(
        // What the baseline itself spends: the server and the client inserting, not the idle platform.
        cpu
          .filter(([name]) => name === 'postgres' || name === 'bench client')
          .reduce((sum, [, ms]) => sum + ms, 0) * 1_000,
        rate * baselineSeconds,
      );
      return { rate, cpuUs };
    };
    const { rate: baseline, cpuUs: baselineCpuUs } = await insertBaseline();
    const tokens = await customers(gateway, customerCount);
    const warmWatch = new OrderWatch(orderDb, sagaEnds);
    await warmUp(tokens[0] as string, warmWatch);
    warmWatch.stop();
    await sleep(1_000); // what the warm-up order set off after its saga (mails, read models) settles

    // Idle: the platform with no orders, for BENCH_IDLE_SECONDS, measured the same way.
    if (profiling && embedded) await statementsReset(serverUrl);
    const idleRun = await measured(meter, () => sleep(idleSeconds * 1_000));
    const idleStatements = profiling && embedded ? await statementCounts(serverUrl) : undefined;
    const idle: Idle = {
      cpu_ms_per_s: Object.fromEntries(
        idleRun.cpu.map(([name, ms]) => [name, Math.round((ms / idleRun.sampledS) * 10) / 10]),
      ),
      postgres_ms_per_s: Object.fromEntries(
        idleRun.postgresCpu.map(([name, ms]) => [name, Math.round((ms / idleRun.sampledS) * 10) / 10]),
      ),
      transactions_per_s: Math.round((idleRun.transactions / idleRun.sampledS) * 10) / 10,
    };
    if (profiling && embedded) await statementsReset(serverUrl);

    // Capacity: the closed loop, then every order to the end of its life in this scenario.
    const tag = `cap-${Date.now()}`;
    const sagaWatch = new OrderWatch(orderDb, sagaEnds);
    const lifeWatch = new OrderWatch(orderDb, lifeEnds[scenario]);
    // The queue table is the PostgreSQL message store's (infra runs the NATS bus: no such table).
    const messages =
      windowSeconds > 0 && embedded ? new pg.Client({ connectionString: dbUrl('messages') }) : undefined;
    messages?.on('error', () => undefined);
    await messages?.connect();
    const idleOf = (pick: (name: string) => boolean) =>
      Object.entries(idle.cpu_ms_per_s)
        .filter(([name]) => pick(name))
        .reduce((sum, [, ms]) => sum + ms, 0);
    let windows: CostWindow[] = [];
    const run = await measured(meter, async () => {
      const began = performance.now();
      const costWindows =
        windowSeconds > 0
          ? startCostWindows({
              seconds: windowSeconds,
              labeller: meter.labeller,
              counted: (name) => !notPlatform.has(name),
              orders: () => sagaWatch.ended,
              messages,
              idleMsPerS: {
                platform: idleOf((name) => !notPlatform.has(name)),
                postgres: idleOf((name) => name === 'postgres'),
              },
            })
          : undefined;
      const placed = await closedLoop(tokens, sagaWatch, inFlight, seconds, tag);
      const placing = (performance.now() - began) / 1_000;
      // Windows while the closed loop ran (orders counted as their sagas end: in steady state what a
      // window spends is what that many orders cost, whichever step each was at).
      windows = (await costWindows?.stop()) ?? [];
      await Promise.race([
        Promise.all(placed.accepted.map((id) => lifeWatch.until(id))),
        // Unreferenced: a timer left running would keep the bench from exiting for up to that long.
        sleep(scenario === 'lifecycle' ? 120_000 : 60_000, undefined, { ref: false }),
      ]);
      return { placed, placing, total: (performance.now() - began) / 1_000 };
    });
    sagaWatch.stop();
    lifeWatch.stop();
    await messages?.end();
    // A soak's windows span minutes, in which the machine itself can get faster or slower: the
    // baseline again at the end says which.
    const baselineAtEnd = windows.length > 0 ? await insertBaseline() : undefined;
    const { placed, placing } = run.result;
    const outcome = await outcomes(orderDb, placed.accepted, scenario);
    // The watches' own queries are transactions on the order database: not the platform's.
    const transactions = run.transactions - sagaWatch.queries - lifeWatch.queries;
    const costWith = (idleShare: { rates: Idle; seconds: number } | undefined) =>
      costOf(run.cpu, run.postgresCpu, transactions, run.deliveries, run.spans, outcome.confirmed, idleShare);
    const gross = costWith(undefined);
    const cost = costWith({ rates: idle, seconds: run.sampledS });
    const statements =
      profiling && embedded && idleStatements
        ? statementsPerOrder(
            await statementCounts(serverUrl),
            idleStatements,
            run.sampledS / idleRun.sampledS,
            outcome.confirmed,
          )
        : undefined;
    const capacity = {
      in_flight: inFlight,
      seconds,
      placing_s: Math.round(placing * 10) / 10,
      measured_s: Math.round(run.result.total * 10) / 10,
      offered: Object.values(placed.statuses).reduce((sum, n) => sum + n, 0),
      accepted: placed.accepted.length,
      accepted_per_s: Math.round((placed.accepted.length / placing) * 10) / 10,
      confirmed: outcome.confirmed,
      confirmed_per_s: Math.round(outcome.confirmedPerSecond * 10) / 10,
      cancelled: outcome.cancelled,
      unfinished: outcome.unfinished,
      delivered: outcome.delivered,
      statuses: placed.statuses,
      accept_p50_ms: percentile(placed.latencies, 50),
      accept_p99_ms: percentile(placed.latencies, 99),
      confirm_p50_ms: percentile(outcome.confirmMs, 50),
      confirm_p99_ms: percentile(outcome.confirmMs, 99),
      /** Net of idle (the platform's cost with no orders over the same time subtracted). */
      cost,
      /** Everything the platform spent while the orders ran, idle included. */
      gross_cost: gross,
      idle,
      /** Private memory (RssAnon) of the PostgreSQL sessions of the platform's databases, MB, at the end. */
      postgres_sessions_mb: run.postgresSessionsMb,
    };

    let atHalf: { offered_per_s: number; accept_p50_ms: number; accept_p99_ms: number } | undefined;
    if (halfPhase && scenario === 'placement') {
      const half = Math.max(1, Math.round(capacity.confirmed_per_s / 2));
      const offered = await openLoop(tokens, half, seconds, `half-${Date.now()}`);
      atHalf = {
        offered_per_s: half,
        accept_p50_ms: percentile(offered.latencies, 50),
        accept_p99_ms: percentile(offered.latencies, 99),
      };
    }
    await orderDb.end();
    await meter.close();
    await stopPlatform(platform);
    // Library code in the bundles told by package: whole maps built beside the profiles.
    const locate = profileDir
      ? await libraryMaps(bundleUrls(profileDir), path.join(profileDir, 'library-maps'))
      : undefined;
    const profiles: Array<ProfileSummary & { process: string }> = profileDir
      ? summariseProfiles(profileDir, run.window.fromUs, run.window.toUs, locate)
          .map((summary) => ({ ...summary, process: meter.labeller(summary.pid, 'node') ?? 'other' }))
          .sort((a, b) => b.busy_ms - a.busy_ms)
      : [];
    return {
      mode,
      scenario,
      baseline_insert_tps: baseline,
      profile_window_us: run.window,
      /** PostgreSQL's and the inserting client's CPU per baseline transaction, in microseconds. */
      baseline_cpu_us_per_txn: baselineCpuUs,
      capacity,
      at_half: atHalf,
      ...(statements ? { statements } : {}),
      ...(profiles.length > 0 ? { profiles } : {}),
      ...(windows.length > 0 ? { windows, baseline_at_end: baselineAtEnd } : {}),
    };
  } finally {
    if (platform.child.exitCode === null) await stopPlatform(platform);
    rmSync(dataDir, { recursive: true, force: true });
    if (mode === 'infra') await dropInfraDatabases(prefix);
  }
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

const results: Awaited<ReturnType<typeof benchRun>>[] = [];
for (const mode of modes) for (const scenario of scenarios) results.push(await benchRun(mode, scenario));
type Result = (typeof results)[number];

/** Wide enough for the longest column title (`embedded-unprepared/placement`) and a gap. */
const columnWidth = Math.max(20, ...results.map((r) => `${r.mode}/${r.scenario}`.length + 2));
const row = (label: string, values: (string | number)[]) =>
  `${label.padEnd(34)}${values.map((v) => String(v).padStart(columnWidth)).join('')}`;
const header = () =>
  console.log(
    row(
      '',
      results.map((r) => `${r.mode}/${r.scenario}`),
    ),
  );
const print = (lines: [string, (r: Result) => string | number][]) => {
  for (const [label, pick] of lines) console.log(row(label, results.map(pick)));
};
console.log(
  `\nbench/orders — ${inFlight} orders in their saga at once for ${seconds} s (closed loop), the platform on Node ${process.version}${smoke ? ' [smoke]' : ''}\n`,
);
header();
print([
  ['PG INSERT…COMMIT txn/s (base)', (r) => r.baseline_insert_tps],
  ['accepted/s', (r) => r.capacity.accepted_per_s],
  ['confirmed/s', (r) => r.capacity.confirmed_per_s],
  [
    'confirmed/s ÷ baseline',
    (r) => `1/${(r.baseline_insert_tps / Math.max(1, r.capacity.confirmed_per_s)).toFixed(1)}`,
  ],
  ['accept p50 / p99 ms', (r) => `${r.capacity.accept_p50_ms} / ${r.capacity.accept_p99_ms}`],
  ['to confirmed p50 / p99 ms', (r) => `${r.capacity.confirm_p50_ms} / ${r.capacity.confirm_p99_ms}`],
  [
    'confirmed, cancelled, unfinished',
    (r) => `${r.capacity.confirmed}, ${r.capacity.cancelled}, ${r.capacity.unfinished}`,
  ],
  ['delivered', (r) => (r.scenario === 'lifecycle' ? r.capacity.delivered : '-')],
  ['refused (not 202)', (r) => r.capacity.offered - r.capacity.accepted],
  ['at half: offered/s', (r) => r.at_half?.offered_per_s ?? '-'],
  [
    'at half: accept p50 / p99 ms',
    (r) => (r.at_half ? `${r.at_half.accept_p50_ms} / ${r.at_half.accept_p99_ms}` : '-'),
  ],
]);

console.log(
  '\nCPU ms per confirmed order, net of idle (from /proc; placement: until confirmed, lifecycle: until delivered)\n',
);
header();
const processes = [...new Set(results.flatMap((r) => Object.keys(r.capacity.cost.cpu_ms_per_order)))].sort(
  (a, b) =>
    (results[0]?.capacity.cost.cpu_ms_per_order[b] ?? 0) -
    (results[0]?.capacity.cost.cpu_ms_per_order[a] ?? 0),
);
for (const name of processes)
  console.log(
    row(
      `  ${name}${notPlatform.has(name) ? ' (not counted)' : ''}`,
      results.map((r) => r.capacity.cost.cpu_ms_per_order[name] ?? 0),
    ),
  );
print([
  ['platform CPU ms / order', (r) => r.capacity.cost.cpu_ms_per_order_total],
  ['  (gross, idle included)', (r) => r.capacity.gross_cost.cpu_ms_per_order_total],
  [
    '  idle platform CPU ms / s',
    (r) =>
      Math.round(
        Object.entries(r.capacity.idle.cpu_ms_per_s)
          .filter(([name]) => !notPlatform.has(name))
          .reduce((sum, [, ms]) => sum + ms, 0),
      ),
  ],
  ['baseline: CPU µs / INSERT txn', (r) => r.baseline_cpu_us_per_txn],
  [
    'order ÷ baseline txn (CPU)',
    (r) =>
      `${Math.round((r.capacity.cost.cpu_ms_per_order_total * 1_000) / Math.max(1, r.baseline_cpu_us_per_txn))}×`,
  ],
  ['PG transactions / order', (r) => r.capacity.cost.pg_transactions_per_order],
  ['PG sessions private memory MB', (r) => r.capacity.postgres_sessions_mb],
  ['  (gross, idle included)', (r) => r.capacity.gross_cost.pg_transactions_per_order],
  ['deliveries / order', (r) => r.capacity.cost.deliveries_per_order],
  ['platform CPU ms / delivery', (r) => r.capacity.cost.cpu_ms_per_delivery],
  ['PG transactions / delivery', (r) => r.capacity.cost.pg_transactions_per_delivery],
  ['spans exported / order', (r) => r.capacity.cost.spans_per_order ?? '-'],
]);
const postgresRoles = [
  ...new Set(results.flatMap((r) => Object.keys(r.capacity.cost.postgres_ms_per_order))),
];
if (postgresRoles.length > 0) {
  console.log(
    '\nPostgreSQL CPU ms per confirmed order, net of idle, by database served or background process\n',
  );
  header();
  for (const name of postgresRoles)
    console.log(
      row(
        `  ${name}`,
        results.map((r) => r.capacity.cost.postgres_ms_per_order[name] ?? 0),
      ),
    );
}
for (const r of results) {
  console.log(`\ndeliveries per order by consumer group (${r.mode}/${r.scenario})`);
  for (const [group, n] of Object.entries(r.capacity.cost.deliveries_by_group))
    console.log(row(`  ${group}`, [n]));
  if (r.statements) {
    console.log(
      `\nPostgreSQL statements per order, net of idle (${r.mode}/${r.scenario}): ${r.statements.calls_per_order} calls, ${r.statements.exec_ms_per_order} ms executing; top by calls`,
    );
    for (const statement of r.statements.top.slice(0, 25))
      console.log(
        `  ${String(statement.calls_per_order).padStart(6)} ${String(statement.exec_ms_per_order).padStart(7)} ms  ${statement.database.padEnd(14)} ${statement.query.slice(0, 110)}`,
      );
  }
  if (r.windows)
    console.log(
      `\n${formatCostWindows(`${r.mode}/${r.scenario}`, r.windows)}\n  PG INSERT…COMMIT before and after the windows: ${r.baseline_insert_tps} and ${r.baseline_at_end?.rate ?? '-'} txn/s, ${r.baseline_cpu_us_per_txn} and ${r.baseline_at_end?.cpuUs ?? '-'} µs of CPU each`,
    );
  if (r.profiles && r.profiles.length > 0) printPackagesAcross(r.profiles, `${r.mode}/${r.scenario}`);
  for (const profile of (r.profiles ?? []).slice(0, 6)) {
    console.log(
      `\nprofile of ${profile.process} (${r.mode}/${r.scenario}): ${profile.busy_ms} ms busy in the phase (${profile.busy_wall_ms} ms counting the waits for a core)`,
    );
    console.log(
      `  packages: ${profile.top_packages
        .slice(0, 12)
        .map((p) => `${p.name} ${p.ms}`)
        .join(', ')}`,
    );
    for (const fn of profile.top_functions.slice(0, 12))
      console.log(`  ${String(fn.ms).padStart(8)} ms  ${fn.name}`);
  }
}

// What mutual TLS costs: the same scenario with and without it, in this run.
const mtlsCost = scenarios.flatMap((scenario) => {
  const plain = results.find((r) => r.mode === 'embedded' && r.scenario === scenario);
  const mutual = results.find((r) => r.mode === 'embedded-mtls' && r.scenario === scenario);
  if (!plain || !mutual) return [];
  const off = plain.capacity.cost.cpu_ms_per_order_total;
  const on = mutual.capacity.cost.cpu_ms_per_order_total;
  return [
    {
      scenario,
      cpu_ms_per_order_off: off,
      cpu_ms_per_order_on: on,
      extra_percent: Math.round(((on - off) / Math.max(0.1, off)) * 1000) / 10,
      confirmed_per_s_off: plain.capacity.confirmed_per_s,
      confirmed_per_s_on: mutual.capacity.confirmed_per_s,
    },
  ];
});
for (const cost of mtlsCost)
  console.log(
    `\nmutual TLS (${cost.scenario}): ${cost.cpu_ms_per_order_on} ms of platform CPU per order with it, ${cost.cpu_ms_per_order_off} ms without (${cost.extra_percent >= 0 ? '+' : ''}${cost.extra_percent} %; target ≤ +15 %); confirmed/s ${cost.confirmed_per_s_on} vs ${cost.confirmed_per_s_off}`,
  );

// A comparison with mutual TLS is kept beside the usual run, not over it.
const resultsFile = modes.includes('embedded-mtls') ? 'orders-mtls.json' : 'orders.json';
mkdirSync(path.join(root, 'bench/results'), { recursive: true });
writeFileSync(
  path.join(root, 'bench/results', resultsFile),
  `${JSON.stringify({ node: process.version, in_flight: inFlight, seconds, smoke, results, mtls_cost: mtlsCost }, null, 2)}\n`,
);
console.log(`\nwritten to bench/results/${resultsFile}`);

// Smoke: the bench itself broke if a run confirmed nothing, left sagas unfinished or refused orders.
if (smoke) {
  const broken = results.filter(
    (r) =>
      r.capacity.confirmed === 0 ||
      r.capacity.unfinished > 0 ||
      r.capacity.offered !== r.capacity.accepted ||
      r.capacity.cost.deliveries === 0,
  );
  for (const r of broken)
    console.error(
      `bench/orders smoke: ${r.mode}/${r.scenario} broke: confirmed ${r.capacity.confirmed}, unfinished ${r.capacity.unfinished}, statuses ${JSON.stringify(r.capacity.statuses)}, deliveries ${r.capacity.cost.deliveries}`,
    );
  if (broken.length > 0) process.exit(1);
}
if (existsSync(path.join(root, 'bench/results/orders-profiles')) && profiling)
  console.log('profiles in bench/results/orders-profiles/ (open in Chrome DevTools or speedscope)');
