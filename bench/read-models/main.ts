/**
 * bench/read-models — how fast the query side keeps up and rebuilds, and how fast it answers:
 *   - build: a fresh order-view catching up with BENCH_EVENTS events (default 100k) already in the
 *     log, events/s;
 *   - rebuild: `POST /admin/read-model/rebuild` over the same log while the first copy serves,
 *     until the new copy has caught up, been compared row for row and switched in; events/s;
 *   - live: events published in batches of 100 as fast as the bus takes them; events/s applied
 *     from the first publish until the lag is back to 0;
 *   - ListCustomerOrders p50/p99 over gRPC (a customer's newest 20), 2,000 sequential calls after
 *     200 of warm-up (printed apart), and the share order-view itself answered within 2.5 and 5 ms;
 *   - the same page at the edge, `GET /api/orders` through the gateway (built, as the supervisor
 *     runs it; token verified): its capacity, then p50/p99 in an open loop at half of it, and the
 *     CPU the gateway and order-view spent per read;
 * beside PostgreSQL's single-row INSERT … COMMIT txn/s (one client) measured in the same run on the
 * same server, with the ratio, and the page read by a plain SELECT as the floor of the read. Runs
 * order-view as a process of its own against the machine's PostgreSQL (BENCH_PG_URL).
 *
 *   npm run bench:read-models
 *   BENCH_EVENTS=20000 npm run bench:read-models
 *   BENCH_SMOKE=1 npm run bench:read-models   # 2,000 events, a few seconds a phase
 *
 * Writes bench/results/read-models.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DescService } from '@bufbuild/protobuf';
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { createLogger, createPool, PostgresEventLog, PostgresMessageBus } from '@mercato/chassis';
import {
  createTestDatabase,
  createTestMessageStore,
  ProcessUnderTest,
  parsePrometheusText,
  waitFor,
} from '@mercato/chassis/testing';
import { OrderViewService } from '@mercato/contracts/grpc/order-view';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { buildStale, builtCommand } from '../../apps/cli/src/build/service-build.ts';
import { requiredGrpcClusters } from '../../apps/gateway/src/routing/route-table.schema.ts';
import { orderSummariesReadModel } from '../../services/order-view/src/adapters/persistence/order-summaries.read-model.ts';
import { postgresInsertBaseline } from '../baselines.ts';
import { measureEdgeRead } from '../edge-read.ts';
import { Breakage, cpuProfileFlags, setting, smoke } from '../smoke-mode.ts';
import { CUSTOMERS, publishOrders } from './publish-orders.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const events = setting('BENCH_EVENTS', 100_000, 2_000);
const baselineSeconds = smoke ? 1 : 5;
const warmUpCalls = smoke ? 20 : 200;
const measuredCalls = smoke ? 100 : 2_000;
const edgeSeconds = setting('BENCH_EDGE_SECONDS', 10, 2);
const broken = new Breakage();
const url = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
process.env.MERCATO_TEST_DATABASE_URL ??= url;
const logger = createLogger({ service: 'bench', level: 'silent' });
const ADMIN = 'bench-read-models-admin-token-000';

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
};

const percent = (share: number) => `${(share * 100).toFixed(1)} %`;

/** ListCustomerOrders calls order-view has answered so far, by histogram bucket (`le`, seconds). */
async function servedWithin(serviceUrl: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const family of parsePrometheusText(await (await fetch(`${serviceUrl}/metrics`)).text()))
    for (const { name, labels, value } of family.samples)
      if (
        name === 'rpc_server_duration_seconds_bucket' &&
        labels.rpc_method === 'ListCustomerOrders' &&
        labels.grpc_code === 'OK' &&
        labels.le !== undefined
      )
        counts.set(labels.le, value);
  return counts;
}

/**
 * `GET /api/orders` (a customer's newest 20, the page ListCustomerOrders reads) through the gateway,
 * built and started as the supervisor starts it, with a real token whose key the gateway fetches
 * from a JWKS served here. The gateway's gRPC peers are not called by this route and are not run.
 */
async function readThroughGateway(orderViewUrl: string, orderViewPid: number | undefined) {
  const ports = { gateway: 18993, jwks: 18994 };
  const keys = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = { ...(await exportJWK(keys.publicKey)), kid: 'bench', alg: 'EdDSA', use: 'sig' };
  const jwks = http.createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => jwks.listen(ports.jwks, '127.0.0.1', resolve));
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ roles: ['customer'] })
    .setProtectedHeader({ alg: 'EdDSA', kid: 'bench', typ: 'JWT' })
    .setSubject('cus_7')
    .setIssuer('mercato-identity')
    .setAudience('mercato')
    .setIssuedAt(now)
    .setExpirationTime(now + 3_600)
    .sign(keys.privateKey);
  const directory = path.join(root, 'apps', 'gateway');
  await buildStale([{ name: 'gateway', directory }], root);
  const unused = 'http://127.0.0.1:9';
  const gateway = new ProcessUnderTest([...cpuProfileFlags(), ...builtCommand()], {
    cwd: directory,
    env: {
      ...process.env,
      PORT: String(ports.gateway),
      MERCATO_SERVICE: 'gateway',
      LOG_LEVEL: 'warn',
      // Read from order-view; the gRPC services are never called by the reads measured.
      MERCATO_PEERS: [
        `order-view/http=${orderViewUrl}`,
        `analytics/http=${unused}`,
        ...requiredGrpcClusters.map((name) => `${name}=${unused}`),
      ].join(','),
      IDENTITY_URL: `http://127.0.0.1:${ports.jwks}`,
      // What is measured is the read, not the per-user quota.
      GATEWAY_RATE_LIMIT_DEFAULT: 'off',
    },
  });
  try {
    const gatewayUrl = `http://127.0.0.1:${ports.gateway}`;
    await waitFor(
      'the gateway listening',
      async () => {
        if (gateway.child.exitCode !== null)
          throw new Error(
            `the gateway exited with ${gateway.child.exitCode}:\n${gateway.lines.slice(-10).join('\n')}`,
          );
        return (await fetch(`${gatewayUrl}/healthz`).catch(() => undefined))?.ok === true;
      },
      60_000,
      100,
    );
    return await measureEdgeRead({
      url: `${gatewayUrl}/api/orders?page_size=20`,
      headers: { authorization: `Bearer ${token}` },
      capacitySeconds: edgeSeconds,
      seconds: edgeSeconds,
      processes: { gateway: gateway.child.pid, 'order-view': orderViewPid },
    });
  } finally {
    await gateway.kill('SIGTERM');
    jwks.close();
  }
}

const messages = await createTestMessageStore('bench_read_models_messages');
const busPool = createPool({ url: messages.url, max: 4, applicationName: 'bench' }, logger);
const bus = new PostgresMessageBus({ pool: busPool, listenUrl: messages.url, logger });
try {
  process.stdout.write(`baseline: single-row INSERT … COMMIT, one client, ${baselineSeconds} s\n`);
  const baseline = await postgresInsertBaseline({ url, clients: 1, seconds: baselineSeconds });

  process.stdout.write(`publishing ${events} events\n`);
  let orders = 0;
  let inLog = 0;
  while (inLog < events) {
    inLog += await publishOrders(bus, orders, Math.min(10_000, events - inLog), 1_000);
    orders = Math.ceil(inLog / 6.5) + 1;
  }
  const { rows } = await busPool.query<{ n: number; orders: number }>(
    "SELECT count(*)::int AS n, count(DISTINCT envelope->'data'->>'order_id')::int AS orders FROM bus_messages",
  );
  inLog = rows[0]?.n ?? inLog;
  const nextOrder = (rows[0]?.orders ?? 0) + 1_000_000;

  process.stdout.write('build: a fresh order-view catching up with the log\n');
  const buildStarted = performance.now();
  // order-view built and run as the supervisor runs it: a process of its own, telemetry preloaded.
  const database = await createTestDatabase('bench_read_models_order_view');
  const servicePorts = { http: 18991, grpc: 18992 };
  const directory = path.join(root, 'services', 'order-view');
  await buildStale([{ name: 'order-view', directory }], root);
  const child = new ProcessUnderTest([...cpuProfileFlags(), ...builtCommand()], {
    cwd: directory,
    env: {
      ...process.env,
      DATABASE_URL: database.url,
      MESSAGES_DATABASE_URL: messages.url,
      PORT: String(servicePorts.http),
      GRPC_PORT: String(servicePorts.grpc),
      LOG_LEVEL: 'warn',
      MERCATO_ADMIN_TOKEN: ADMIN,
      READ_MODEL_POLL_MS: '20',
    },
  });
  const service = {
    url: `http://127.0.0.1:${servicePorts.http}`,
    databaseUrl: database.url,
    client: <S extends DescService>(grpcService: S) =>
      createClient(
        grpcService,
        // Uncompressed, as the platform's own clients call (createGrpcClient).
        createGrpcTransport({ baseUrl: `http://127.0.0.1:${servicePorts.grpc}`, acceptCompression: [] }),
      ),
    stop: async () => {
      await child.kill('SIGTERM');
      await database.drop();
    },
  };
  await waitFor(
    'order-view listening',
    async () => (await fetch(`${service.url}/healthz`).catch(() => undefined))?.ok === true,
    60_000,
    100,
  );
  const admin = async (method: string, route: string) =>
    (await (
      await fetch(`${service.url}${route}`, { method, headers: { authorization: `Bearer ${ADMIN}` } })
    ).json()) as {
      generations: Array<{
        generation: number;
        status: string;
        events_applied: number;
        lag: { events: number } | null;
        differences: number | null;
        compared_rows: number | null;
      }>;
    };
  // Watched in the read model's own table, not through /admin (whose lag count would load the
  // server it measures): the live copy has caught up when its checkpoint reaches the log's head.
  const watcher = createPool({ url: service.databaseUrl, max: 1, applicationName: 'bench' }, logger);
  const log = new PostgresEventLog(busPool);
  const topics = orderSummariesReadModel.topics;
  const generations = async () =>
    (
      await watcher.query<{ generation: number; status: string; checkpoint: string | null }>(
        'SELECT generation, status, checkpoint FROM read_model_generations',
      )
    ).rows;
  const liveAt = async (head: string | null) =>
    log.reached((await generations()).find((g) => g.status === 'live')?.checkpoint ?? null, head);
  const head = await log.head(topics);
  await waitFor('the first build', () => liveAt(head), 600_000, 20);
  const buildSeconds = (performance.now() - buildStarted) / 1_000;

  process.stdout.write('rebuild: blue-green, compared and switched\n');
  const rebuildStarted = performance.now();
  await admin('POST', '/admin/read-model/rebuild');
  await waitFor(
    'the rebuilt copy live',
    async () => (await generations()).some((g) => g.generation === 2 && g.status === 'live'),
    600_000,
    20,
  );
  const rebuildSeconds = (performance.now() - rebuildStarted) / 1_000;
  const switched = (await admin('GET', '/admin/read-model')).generations.find((g) => g.generation === 2);

  process.stdout.write('live: publishing while it applies\n');
  const liveEvents = Math.min(20_000, events);
  const liveStarted = performance.now();
  const livePublished = await publishOrders(bus, nextOrder, liveEvents, 100);
  const liveHead = await log.head(topics);
  await waitFor('caught up with the live burst', () => liveAt(liveHead), 600_000, 20);
  const liveSeconds = (performance.now() - liveStarted) / 1_000;
  await watcher.end();

  process.stdout.write(
    `ListCustomerOrders: ${warmUpCalls} warm-up calls, then ${measuredCalls} measured, sequential\n`,
  );
  const client = service.client(OrderViewService);
  const listCalls = async (from: number, count: number) => {
    const taken: number[] = [];
    for (let i = from; i < from + count; i += 1) {
      const began = performance.now();
      await client.listCustomerOrders({ customerId: `cus_${(i * 7919) % CUSTOMERS}`, pageSize: 20 });
      taken.push(performance.now() - began);
    }
    return taken;
  };
  // The first calls pay for both processes' JIT and the HTTP/2 session: printed on their own.
  const warmUp = await listCalls(0, warmUpCalls);
  const servedBefore = await servedWithin(service.url);
  const latencies = await listCalls(warmUpCalls, measuredCalls);
  const servedAfter = await servedWithin(service.url);
  // How much of it is order-view's own work: its server histogram (handler, SQL, encoding), the
  // measured calls only. What a call takes beyond that is HTTP/2, the client and the scheduler.
  const served = (le: string) =>
    ((servedAfter.get(le) ?? 0) - (servedBefore.get(le) ?? 0)) / latencies.length;
  // The floor under it: the page's rows read from PostgreSQL directly, the same way, same run.
  const direct = createPool({ url: service.databaseUrl, max: 1, applicationName: 'bench' }, logger);
  const directLatencies: number[] = [];
  for (let i = 0; i < measuredCalls; i += 1) {
    const began = performance.now();
    await direct.query(
      'SELECT * FROM order_summaries WHERE customer_id = $1 ORDER BY placed_at DESC, order_id DESC LIMIT 21',
      [`cus_${(i * 7919) % CUSTOMERS}`],
    );
    directLatencies.push(performance.now() - began);
  }
  await direct.end();

  process.stdout.write('GET /api/orders at the edge: capacity, then half of it, open loop\n');
  const edge = await readThroughGateway(service.url, child.child.pid);
  await service.stop();

  const result = {
    baseline_insert_txn_per_s: baseline,
    log_events: inLog,
    build: {
      seconds: buildSeconds,
      events_per_s: Math.round(inLog / buildSeconds),
    },
    rebuild: {
      seconds: rebuildSeconds,
      events_per_s: Math.round(inLog / rebuildSeconds),
      compared_rows: switched?.compared_rows,
      differences: switched?.differences,
    },
    live: {
      events: livePublished,
      seconds: liveSeconds,
      events_per_s: Math.round(livePublished / liveSeconds),
    },
    list_customer_orders_ms: { p50: percentile(latencies, 50), p99: percentile(latencies, 99) },
    list_customer_orders_warm_up_ms: { p50: percentile(warmUp, 50), p99: percentile(warmUp, 99) },
    served_by_order_view_within: {
      '2.5ms': served('0.0025'),
      '5ms': served('0.005'),
      '10ms': served('0.01'),
    },
    direct_select_ms: { p50: percentile(directLatencies, 50), p99: percentile(directLatencies, 99) },
    list_orders_at_edge: edge,
  };
  broken.expect(result.build.events_per_s > 0, 'the build produced no figure');
  broken.expect(
    switched?.differences === 0 && (switched?.compared_rows ?? 0) > 0,
    `the rebuild compared ${switched?.compared_rows} rows with ${switched?.differences} differences`,
  );
  broken.expect(livePublished > 0, 'the live phase published nothing');
  broken.expect(latencies.length === measuredCalls, 'ListCustomerOrders calls missing');
  broken.expect(
    edge.requests > 0 && edge.broken_answers === 0 && edge.capacity_errors === 0,
    `GET /api/orders at the edge: ${edge.requests} answered, ${edge.broken_answers + edge.capacity_errors} broken answers or failed connections`,
  );
  const ratio = (value: number) => `${(value / baseline).toFixed(2)}×`;
  const table = [
    ['what', 'figure', 'ratio to its baseline'],
    ['baseline INSERT … COMMIT (1 client)', `${baseline} txn/s`, '1.00×'],
    [
      `build from the log (${inLog} events)`,
      `${result.build.events_per_s} events/s (${buildSeconds.toFixed(1)} s)`,
      ratio(result.build.events_per_s),
    ],
    [
      'rebuild, blue-green, compared + switched',
      `${result.rebuild.events_per_s} events/s (${rebuildSeconds.toFixed(1)} s; ${switched?.compared_rows} rows, ${switched?.differences} differences)`,
      ratio(result.rebuild.events_per_s),
    ],
    [
      `live apply (${livePublished} events published in 100s)`,
      `${result.live.events_per_s} events/s`,
      ratio(result.live.events_per_s),
    ],
    [
      'ListCustomerOrders p50 / p99 (gRPC)',
      `${result.list_customer_orders_ms.p50.toFixed(2)} / ${result.list_customer_orders_ms.p99.toFixed(2)} ms`,
      `${(result.list_customer_orders_ms.p99 / result.direct_select_ms.p99).toFixed(1)}× the direct SELECT's p99`,
    ],
    [
      `  … its first ${warmUpCalls} calls (warm-up, not counted)`,
      `${result.list_customer_orders_warm_up_ms.p50.toFixed(2)} / ${result.list_customer_orders_warm_up_ms.p99.toFixed(2)} ms`,
      '',
    ],
    [
      '  … answered by order-view within 2.5 / 5 ms',
      `${percent(served('0.0025'))} / ${percent(served('0.005'))} of calls (its own histogram)`,
      '',
    ],
    [
      `GET /api/orders through the gateway, at ${edge.rate_per_s}/s (half its ${edge.capacity_per_s}/s), open loop`,
      `${edge.p50_ms.toFixed(2)} / ${edge.p99_ms.toFixed(2)} ms p50 / p99 (target p99 ≤ 10 ms)`,
      `${(edge.p99_ms / result.direct_select_ms.p99).toFixed(1)}× the direct SELECT's p99`,
    ],
    [
      '  … CPU per read, at half / at capacity',
      Object.keys(edge.cpu_ms_per_request)
        .map(
          (name) =>
            `${name} ${edge.cpu_ms_per_request[name]?.toFixed(2)} / ${edge.cpu_ms_per_request_at_capacity[name]?.toFixed(2)} ms`,
        )
        .join(', '),
      '',
    ],
    [
      'the same page by SELECT, directly (floor)',
      `${result.direct_select_ms.p50.toFixed(2)} / ${result.direct_select_ms.p99.toFixed(2)} ms`,
      '1.0×',
    ],
  ];
  const widths =
    table[0]?.map((_, column) => Math.max(...table.map((row) => (row[column] ?? '').length))) ?? [];
  for (const row of table)
    process.stdout.write(`${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ')}\n`);
  mkdirSync(`${root}bench/results`, { recursive: true });
  writeFileSync(
    `${root}bench/results/read-models.json`,
    `${JSON.stringify({ measured_at: new Date().toISOString(), smoke, ...result }, null, 2)}\n`,
  );
  broken.exitIfBroken('read-models');
} finally {
  await bus.close();
  await busPool.end();
  await messages.drop();
}
