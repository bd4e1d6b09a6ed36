/**
 * bench/streams — what idle live streams cost: BENCH_STREAMS (default 1,000) SSE streams held open
 * through the gateway, half of them customers' (`/api/orders/live`), half one order's
 * (`/api/orders/:id/live`), ten per customer (the default cap), with no order changing:
 *   - CPU of each process of the platform over BENCH_SECONDS (default 30) with the streams open
 *     (BENCH_SETTLE_SECONDS, default 20, after they were opened),
 *     beside the same window with none open before and after (the platform at rest), as a share of
 *     one core; the difference on the streams' path (gateway, order, PostgreSQL) is what they cost
 *     (the aim: at most 5 % of one core), the whole platform's difference printed beside it;
 *   - the order database's transactions per second in both windows (each stream polling would show
 *     here: 1,000 streams × 10 polls/s);
 *   - the physical floor, in the same run: a bare Node HTTP server holding as many SSE connections
 *     with the same 15 s keep-alive, and the streams' cost as a ratio to it.
 *
 *   npm run bench:streams
 *   BENCH_STREAMS=200 BENCH_SECONDS=10 BENCH_SETTLE_SECONDS=5 npm run bench:streams
 *   BENCH_SMOKE=1 npm run bench:streams  # 20 streams, 2 s windows: does it still run?
 *
 * Writes bench/results/streams.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ProcessUnderTest, waitFor } from '@mercato/chassis/testing';
import pg from 'pg';
import { startPlatform } from '../platform.ts';
import { cpuBetween, type ProcessLabeller, parentOf, sampleCpu } from '../process-cpu.ts';
import { Breakage, setting, smoke } from '../smoke-mode.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const STREAMS = setting('BENCH_STREAMS', 1_000, 20);
const SECONDS = setting('BENCH_SECONDS', 30, 2);
/** After opening: the garbage the opening burst left is collected before anything is measured. */
const SETTLE_SECONDS = setting('BENCH_SETTLE_SECONDS', 20, 1);
/** After the customers' orders: their sagas and mails finish before the platform is called at rest. */
const AT_REST_SECONDS = smoke ? 2 : 8;
const broken = new Breakage();
const PER_CUSTOMER = 10;
const AIM_SHARE_OF_CORE = 0.05;
const ports = { postgres: 25401, gateway: 19180, base: 16101, grpcBase: 17101, bare: 19181 };
const gateway = `http://127.0.0.1:${ports.gateway}`;
const PASSWORD = 'bench password 2026';

type Window = { cpu: Array<[string, number]>; orderTransactionsPerSecond: number; seconds: number };

const share = (ms: number, seconds: number) => ms / (seconds * 1_000);
const percent = (value: number) => `${(value * 100).toFixed(2)} %`;

const post = (route: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${gateway}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

/** A signed-in customer with one order of its own (what its per-order streams follow). */
async function customer(index: number): Promise<{ token: string; orderId: string }> {
  const email = `bench-streams-${index}@mercato.test`;
  await post('/api/auth/register', { email, password: PASSWORD, name: 'Bench' });
  const { access_token: token } = (await (
    await post('/api/auth/login', { email, password: PASSWORD })
  ).json()) as {
    access_token: string;
  };
  await waitFor('the customer profile', async () => {
    const me = await fetch(`${gateway}/api/customers/me`, { headers: { authorization: `Bearer ${token}` } });
    return me.status === 200;
  });
  const placed = await post(
    '/api/orders',
    { items: [{ sku: 'BOK-0001', quantity: 1 }], shipping_address: '1 Bench St' },
    { authorization: `Bearer ${token}`, 'idempotency-key': `bench-streams-${index}-order` },
  );
  if (placed.status !== 202) throw new Error(`placing an order: ${placed.status} ${await placed.text()}`);
  return { token, orderId: ((await placed.json()) as { order_id: string }).order_id };
}

/** A problem+json body's fields, or none when the text is not JSON. */
const problemOf = (text: string): { retryable?: unknown } => {
  try {
    return (JSON.parse(text) as { retryable?: unknown } | null) ?? {};
  } catch {
    return {};
  }
};

/** Stream openings refused as retryable and asked again (printed: a sign of a starved machine). */
let askedAgain = 0;

/**
 * Opens an SSE stream and resolves once its first event (or keep-alive) has arrived. A 503 or 504
 * that says it is retryable (the edge shedding, its circuit to order open, or the request's deadline
 * spent before order could be called, while a starved machine let the first streams' starts time
 * out) is asked again after its Retry-After, up to four times, as an EventSource reconnects;
 * anything else fails the bench.
 */
async function openStream(url: string, token: string | undefined, signal: AbortSignal): Promise<void> {
  // fetch's pool opens as many connections to an origin as there are requests in flight.
  const ask = () => fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal });
  let response = await ask();
  for (let again = 0; response.status !== 200; again += 1) {
    // Read once: the refusal's text is what the bench reports if it is not asked again.
    const text = await response.text();
    const retryable =
      (response.status === 503 || response.status === 504) && problemOf(text).retryable === true;
    if (!retryable || again === 4) throw new Error(`${url}: ${response.status} ${text}`);
    askedAgain += 1;
    await sleep(Math.min(5, Number(response.headers.get('retry-after') ?? 1) || 1) * 1_000);
    response = await ask();
  }
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (!/event: (ready|order)|retry:/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${url} ended before its first event`);
    text += decoder.decode(value);
  }
  // Keep reading (and dropping) whatever comes, so the connection stays drained.
  void (async () => {
    try {
      for (;;) if ((await reader.read()).done) return;
    } catch {
      // Closed by the bench.
    }
  })();
}

function labellerFor(dataDir: string, barePid?: number): ProcessLabeller {
  const state = JSON.parse(readFileSync(path.join(dataDir, 'run', 'state.json'), 'utf8')) as {
    supervisor_pid: number;
    postgres: { pid: number | null };
    services: Record<string, { pid?: number }>;
  };
  const services = new Map(
    Object.entries(state.services).flatMap(([name, service]) => (service.pid ? [[service.pid, name]] : [])),
  );
  services.set(state.supervisor_pid, 'supervisor');
  // Only the platform's own server and its backends: the machine's other PostgreSQL servers (the
  // shared one, another bench's) are not this run's.
  const postmaster = state.postgres.pid;
  const isOwnPostgres = (pid: number) =>
    postmaster !== null && (pid === postmaster || parentOf(pid) === postmaster);
  return (pid, command) =>
    pid === barePid
      ? 'bare SSE server'
      : pid === process.pid
        ? 'bench client'
        : (services.get(pid) ?? (command === 'postgres' && isOwnPostgres(pid) ? 'postgres' : undefined));
}

async function orderTransactions(dataDir: string): Promise<number> {
  const password = readFileSync(path.join(dataDir, 'postgres-superuser'), 'utf8').trim();
  const client = new pg.Client({
    host: '127.0.0.1',
    port: ports.postgres,
    user: 'postgres',
    password,
    database: 'order',
  });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(
      "SELECT (xact_commit + xact_rollback)::text AS n FROM pg_stat_database WHERE datname = 'order'",
    );
    return Number(rows[0]?.n ?? 0);
  } finally {
    await client.end();
  }
}

/** CPU per process and the order database's transactions over `seconds` of doing nothing. */
async function idleWindow(dataDir: string, labeller: ProcessLabeller): Promise<Window> {
  const transactionsBefore = await orderTransactions(dataDir);
  const before = sampleCpu(labeller);
  const began = performance.now();
  await sleep(SECONDS * 1_000);
  const after = sampleCpu(labeller);
  const seconds = (performance.now() - began) / 1_000;
  // PostgreSQL publishes a backend's counters within a second of its transactions.
  await sleep(1_200);
  const transactions = (await orderTransactions(dataDir)) - transactionsBefore;
  return {
    cpu: before && after ? cpuBetween(before, after) : [],
    orderTransactionsPerSecond: Math.round((transactions / (seconds + 1.2)) * 10) / 10,
    seconds,
  };
}

const spent = (window: Window, name: string) => window.cpu.find(([label]) => label === name)?.[1] ?? 0;
const platformMs = (window: Window) =>
  window.cpu
    .filter(([label]) => !['bench client', 'bare SSE server', 'other'].includes(label))
    .reduce((sum, [, ms]) => sum + ms, 0);

const platform = await startPlatform('streams', ports, {
  GATEWAY_RATE_LIMIT_DEFAULT: 'off',
  GATEWAY_RATE_LIMIT_CREDENTIALS: 'off',
  IDENTITY_SCRYPT_COST: '1024',
  // Nothing may move while the streams are measured idle: confirmed orders are not shipped.
  FULFILLMENT_WORKERS: '0',
});
const { dataDir } = platform;
const streams = new AbortController();
let bare: ProcessUnderTest | undefined;
try {
  const customers = Math.ceil(STREAMS / PER_CUSTOMER);
  process.stdout.write(`${customers} customers, one order each\n`);
  const people: Array<{ token: string; orderId: string }> = [];
  for (let index = 0; index < customers; index += 1) people.push(await customer(index));
  // Let every PlaceOrder saga and its mails finish: the windows measure a platform at rest.
  await sleep(AT_REST_SECONDS * 1_000);
  const labeller = labellerFor(dataDir);

  process.stdout.write(`idle platform, no stream: ${SECONDS} s\n`);
  const idle = await idleWindow(dataDir, labeller);

  process.stdout.write(`opening ${STREAMS} streams\n`);
  const opening: Promise<void>[] = [];
  for (let index = 0; index < STREAMS; index += 1) {
    const person = people[Math.floor(index / PER_CUSTOMER)] as { token: string; orderId: string };
    const route = index % 2 === 0 ? '/api/orders/live' : `/api/orders/${person.orderId}/live`;
    opening.push(openStream(`${gateway}${route}`, person.token, streams.signal));
    if (opening.length % 100 === 0) await Promise.all(opening.slice(-100));
  }
  await Promise.all(opening);
  if (askedAgain > 0)
    process.stdout.write(`${askedAgain} stream opening(s) refused as retryable and asked again\n`);
  // Opening read each stream's start and allocated its state: measured once that has settled (and its
  // statistics have reached pg_stat_database), as streams are long-lived.
  await sleep(SETTLE_SECONDS * 1_000);
  const gauge = await (await fetch(`${gateway}/metrics`)).text();
  const open = Number(/^gateway_live_streams(?:\{[^}]*\})? (\d+)/m.exec(gauge)?.[1] ?? 0);
  process.stdout.write(`${open} streams open at the gateway, idle: ${SECONDS} s\n`);
  const withStreams = await idleWindow(dataDir, labeller);
  streams.abort();
  await sleep(smoke ? 1_000 : 3_000);
  process.stdout.write(`idle platform again, the streams closed: ${SECONDS} s\n`);
  const idleAfter = await idleWindow(dataDir, labeller);

  process.stdout.write(`the floor: a bare Node SSE server holding ${STREAMS} connections: ${SECONDS} s\n`);
  bare = new ProcessUnderTest(['--import', 'tsx', 'bench/streams/bare-sse-server.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', PORT: String(ports.bare) },
  });
  await bare.waitForLine(/listening on/, 20_000);
  const bareStreams = new AbortController();
  const bareOpening: Promise<void>[] = [];
  for (let index = 0; index < STREAMS; index += 1) {
    bareOpening.push(openStream(`http://127.0.0.1:${ports.bare}/`, undefined, bareStreams.signal));
    if (bareOpening.length % 100 === 0) await Promise.all(bareOpening.slice(-100));
  }
  await Promise.all(bareOpening);
  await sleep(SETTLE_SECONDS * 1_000);
  const floorWindow = await idleWindow(dataDir, labellerFor(dataDir, bare.child.pid));
  bareStreams.abort();

  const seconds = withStreams.seconds;
  // The platform at rest, before and after, averaged: its services' own timers (relays, sweeps,
  // projections) do not tick evenly over a window of a few seconds.
  const rest = (value: (window: Window) => number) =>
    (share(value(idle), idle.seconds) + share(value(idleAfter), idleAfter.seconds)) / 2;
  const cost = (name: string) => share(spent(withStreams, name), seconds) - rest((w) => spent(w, name));
  const onPath = ['gateway', 'order', 'postgres'];
  const streamCost = onPath.reduce((sum, name) => sum + cost(name), 0);
  const platformCost = share(platformMs(withStreams), seconds) - rest(platformMs);
  const floor = share(spent(floorWindow, 'bare SSE server'), floorWindow.seconds);
  const names = [...new Set([...idle.cpu, ...withStreams.cpu, ...idleAfter.cpu].map(([name]) => name))]
    .filter((name) => !['bench client', 'bare SSE server', 'other'].includes(name))
    .sort();
  const rows = [
    ['', 'at rest (before, after)', `${open} streams`, 'difference'],
    ...names.map((name) => [
      onPath.includes(name) ? `${name} *` : name,
      percent(rest((w) => spent(w, name))),
      percent(share(spent(withStreams, name), seconds)),
      percent(cost(name)),
    ]),
    ['the streams’ path (*)', '', '', percent(streamCost)],
    [
      'whole platform',
      percent(rest(platformMs)),
      percent(share(platformMs(withStreams), seconds)),
      percent(platformCost),
    ],
    [
      'order db transactions/s',
      String((idle.orderTransactionsPerSecond + idleAfter.orderTransactionsPerSecond) / 2),
      String(withStreams.orderTransactionsPerSecond),
      '',
    ],
    ['bare Node SSE server (floor)', '', percent(floor), ''],
  ];
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  process.stdout.write('\nCPU as a share of one core\n');
  for (const row of rows)
    process.stdout.write(`${row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ')}\n`);
  const ratio = floor > 0 ? streamCost / floor : Number.NaN;
  process.stdout.write(
    `\n${open} idle streams cost ${percent(streamCost)} of one core on their path (gateway, order, PostgreSQL; aim ≤ ${percent(
      AIM_SHARE_OF_CORE,
    )}: ${streamCost <= AIM_SHARE_OF_CORE ? 'met' : 'NOT met'}), ${
      Number.isFinite(ratio) ? ratio.toFixed(1) : '–'
    } × the bare Node server's ${percent(floor)} for as many connections; the whole platform moved ${percent(platformCost)}\n`,
  );
  mkdirSync(path.join(root, 'bench/results'), { recursive: true });
  writeFileSync(
    path.join(root, 'bench/results/streams.json'),
    `${JSON.stringify(
      {
        smoke,
        streams: open,
        seconds,
        share_of_one_core: {
          at_rest_before: Object.fromEntries(idle.cpu.map(([name, ms]) => [name, share(ms, idle.seconds)])),
          with_streams: Object.fromEntries(withStreams.cpu.map(([name, ms]) => [name, share(ms, seconds)])),
          at_rest_after: Object.fromEntries(
            idleAfter.cpu.map(([name, ms]) => [name, share(ms, idleAfter.seconds)]),
          ),
          streams_cost_on_their_path: streamCost,
          whole_platform_difference: platformCost,
          bare_sse_server: floor,
        },
        order_db_transactions_per_s: {
          at_rest_before: idle.orderTransactionsPerSecond,
          with_streams: withStreams.orderTransactionsPerSecond,
          at_rest_after: idleAfter.orderTransactionsPerSecond,
        },
        ratio_to_bare_server: ratio,
        aim_share_of_one_core: AIM_SHARE_OF_CORE,
        aim_met: streamCost <= AIM_SHARE_OF_CORE,
      },
      null,
      2,
    )}\n`,
  );
  broken.expect(open === STREAMS, `${open} of ${STREAMS} streams open at the gateway`);
  broken.expect(
    [idle, withStreams, idleAfter, floorWindow].every((window) => window.cpu.length > 0),
    'a window measured no CPU',
  );
} finally {
  streams.abort();
  bare?.child.kill('SIGTERM');
  await platform.stop();
}
broken.exitIfBroken('streams');
