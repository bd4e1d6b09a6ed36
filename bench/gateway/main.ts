/**
 * bench/gateway — the same upstream measured directly, through the gateway with everything on
 * (routing table, bearer token verified, rate limit counted per user, spans created and exported
 * over OTLP), through the gateway with less on, through @fastify/reply-from alone, and through
 * nginx as the reference when it is installed. Two upstreams:
 *   - static: a minimal fastify app answering a fixed JSON document (the proxy's cost laid bare);
 *   - catalog: the real catalog service listing a page of products from PostgreSQL (what the
 *     gateway fronts in Mercato).
 *
 * Beside them, the catalog search at the edge (`GET /api/catalog/products?q=…`, the gateway's own
 * route calling catalog over gRPC): its capacity, then p50/p99 in an open loop at half of it and
 * the CPU the gateway and catalog spent per search, beside the same search by a plain SELECT; and
 * the same search once more with the gateway calling a second catalog over mutual TLS under the
 * call policy (`npm start -- --mtls`), for what mTLS costs per search.
 *
 *   npm run bench:gateway
 *   BENCH_SECONDS=20 BENCH_CONNECTIONS=100 BENCH_UPSTREAMS=catalog npm run bench:gateway
 *   BENCH_SMOKE=1 npm run bench:gateway   # a second per target: does it still run?
 *
 * Needs PostgreSQL for the catalog upstream (MERCATO_TEST_DATABASE_URL, as the tests).
 *
 * Every process runs on this machine, so the load generator, the upstream and the proxy share its
 * cores; numbers are comparable with each other, not with a dedicated load rig. Prints a table and
 * writes bench/results/gateway.json.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, createTestMessageStore, waitFor } from '@mercato/chassis/testing';
import autocannon from 'autocannon';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import pg from 'pg';
import { CertificateAuthority } from '../../apps/cli/src/supervisor/certificate-authority.ts';
import { embeddedSpiffeId } from '../../apps/cli/src/supervisor/workload-certificates.ts';
import { measureEdgeRead, timeSequentially } from '../edge-read.ts';
import { Breakage, cpuProfileFlags, setting, smoke } from '../smoke-mode.ts';

const seconds = setting('BENCH_SECONDS', 10, 2);
const connections = setting('BENCH_CONNECTIONS', 50, 10);
/** Closed-loop warm-up before each measured target (none in smoke mode). */
const warmUpSeconds = smoke ? 0 : 2;
const searchSeconds = setting('BENCH_SEARCH_SECONDS', 10, 2);
const base = setting('BENCH_PORT_BASE', 13080, 13080);
const upstreams = (process.env.BENCH_UPSTREAMS ?? 'static,catalog').split(',');
const ports = {
  gateway: base,
  upstream: base + 1,
  nginx: base + 2,
  bare: base + 3,
  gatewayGuarded: base + 4,
  gatewayPlain: base + 5,
  catalog: base + 6,
  catalogGrpc: base + 7,
  catalogMtls: base + 8,
  catalogMtlsGrpc: base + 9,
  gatewayMtls: base + 10,
};
const root = fileURLToPath(new URL('../..', import.meta.url));
const work = mkdtempSync(path.join(tmpdir(), 'bench-gateway-'));
const children: ChildProcess[] = [];
const broken = new Breakage();
/** The last lines each child wrote to stderr, by name: what to show when one exits early. */
const lastWords = new Map<string, string>();

const start = (name: string, command: string, args: string[], env: Record<string, string> = {}) => {
  const child = spawn(command, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
    lastWords.set(name, stderr);
  });
  child.on('exit', (code) => {
    if (code && code !== 0 && !stopping) process.stderr.write(`${name} exited with ${code}\n${stderr}\n`);
  });
  children.push(child);
  return child;
};
let stopping = false;
const stopAll = () => {
  stopping = true;
  for (const child of children) child.kill('SIGTERM');
};
process.on('exit', stopAll);

/** Waits until `url` answers 200; fails at once, with its last words, if the process exits first. */
const waitUntilUp = (name: string, url: string, headers: Record<string, string> = {}, child?: ChildProcess) =>
  waitFor(
    `${name} answering at ${url}`,
    async () => {
      if (child && child.exitCode !== null)
        throw new Error(
          `${name} exited with ${child.exitCode} before answering\n${lastWords.get(name) ?? ''}`,
        );
      return (await fetch(url, { headers }).catch(() => undefined))?.ok === true;
    },
    60_000,
    200,
  );

// A real token from a real key; the gateway fetches the key from the upstream's JWKS.
const keys = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
const jwk = { ...(await exportJWK(keys.publicKey)), kid: 'bench', alg: 'EdDSA', use: 'sig' };
const now = Math.floor(Date.now() / 1000);
const token = await new SignJWT({ roles: ['customer'] })
  .setProtectedHeader({ alg: 'EdDSA', kid: 'bench', typ: 'JWT' })
  .setSubject('usr_bench')
  .setIssuer('mercato-identity')
  .setAudience('mercato')
  .setIssuedAt(now)
  .setExpirationTime(now + 3_600)
  .sign(keys.privateKey);
const auth = { authorization: `Bearer ${token}` };

const upstreamUrl = `http://127.0.0.1:${ports.upstream}`;
const upstreamProcess = start(
  'upstream',
  process.execPath,
  ['--import', 'tsx', 'bench/gateway/upstream.ts'],
  {
    PORT: String(ports.upstream),
    BENCH_JWK: JSON.stringify(jwk),
  },
);
await waitUntilUp('upstream', `${upstreamUrl}/bench/item`, {}, upstreamProcess);

const catalogUrl = `http://127.0.0.1:${ports.catalog}`;
/** The real catalog service as its own process, traced as every service is. */
const startCatalog = (name: string, env: Record<string, string>) =>
  start(
    name,
    process.execPath,
    [
      ...cpuProfileFlags(),
      '--import',
      'tsx',
      '--import',
      '@mercato/chassis/register',
      'services/catalog/src/main.ts',
    ],
    { MERCATO_SERVICE: 'catalog', LOG_LEVEL: 'warn', ...env },
  );
const cleanups: Array<() => Promise<void>> = [];
let catalogProcess: ChildProcess | undefined;
let catalogDatabaseUrl = '';
let messagesUrl = '';
if (upstreams.includes('catalog')) {
  const database = await createTestDatabase('bench_catalog');
  const messages = await createTestMessageStore('bench_messages');
  cleanups.push(database.drop, messages.drop);
  catalogDatabaseUrl = database.url;
  messagesUrl = messages.url;
  catalogProcess = startCatalog('catalog', {
    PORT: String(ports.catalog),
    GRPC_PORT: String(ports.catalogGrpc),
    DATABASE_URL: database.url,
    MESSAGES_DATABASE_URL: messages.url,
  });
  await waitUntilUp('catalog', `${catalogUrl}/readyz`, {}, catalogProcess);
}

/**
 * The same catalog again, serving gRPC over mutual TLS with the call policy (`npm start -- --mtls`),
 * for a gateway that calls it with a certificate: the cost of mTLS on the edge's search.
 */
const tlsFiles = async (identity: string, authority: CertificateAuthority) => {
  const issued = await authority.issue({
    spiffeId: embeddedSpiffeId('mercato.local', identity),
    ttlMs: 3_600_000,
  });
  const files = {
    TLS_CERT_FILE: path.join(work, `${identity}.crt`),
    TLS_KEY_FILE: path.join(work, `${identity}.key`),
    TLS_CA_FILE: path.join(work, 'tls', 'ca.crt'),
  };
  writeFileSync(files.TLS_CERT_FILE, issued.cert);
  writeFileSync(files.TLS_KEY_FILE, issued.key, { mode: 0o600 });
  return files;
};
let catalogMtlsProcess: ChildProcess | undefined;
let gatewayTls: Record<string, string> = {};
if (upstreams.includes('catalog')) {
  const authority = await CertificateAuthority.open(path.join(work, 'tls'));
  gatewayTls = await tlsFiles('gateway', authority);
  catalogMtlsProcess = startCatalog('catalog-mtls', {
    PORT: String(ports.catalogMtls),
    GRPC_PORT: String(ports.catalogMtlsGrpc),
    DATABASE_URL: catalogDatabaseUrl,
    MESSAGES_DATABASE_URL: messagesUrl,
    // Serves calls only: the first catalog relays the outbox and runs the duties.
    MERCATO_ROLE: 'standby',
    MERCATO_POLICY_FILE: path.join(root, 'deploy', 'policy.yaml'),
    ...(await tlsFiles('catalog', authority)),
  });
  await waitUntilUp('catalog-mtls', `http://127.0.0.1:${ports.catalogMtls}/readyz`, {}, catalogMtlsProcess);
}

const grpc = (port: number, scheme = 'http') => ({
  protocol: 'grpc',
  backends: [{ url: `${scheme}://127.0.0.1:${port}` }],
});
/** A gateway process with a routing table whose one route proxies /bench/ to the upstream. */
const startGateway = async (
  name: string,
  port: number,
  route: Record<string, unknown>,
  env: Record<string, string>,
  catalogCluster = grpc(ports.catalogGrpc),
) => {
  const routesFile = path.join(work, `${name}.routes.json`);
  writeFileSync(
    routesFile,
    JSON.stringify({
      clusters: {
        catalog: catalogCluster,
        identity: grpc(5002),
        customer: grpc(5003),
        pricing: grpc(5004),
        inventory: grpc(5005),
        // Required by the gateway's own routes; this bench calls none of them.
        order: grpc(5006),
        fulfillment: grpc(5007),
        notification: grpc(5008),
        'order-view': { protocol: 'http', backends: [{ url: upstreamUrl }] },
        analytics: { protocol: 'http', backends: [{ url: upstreamUrl }] },
        'bench-upstream': { protocol: 'http', backends: [{ url: upstreamUrl }] },
        'catalog-http': { protocol: 'http', backends: [{ url: catalogUrl }] },
      },
      routes: [
        { name: 'bench', match: { path_prefix: '/bench/' }, proxy: 'bench-upstream', ...route },
        { name: 'catalog', match: { path_prefix: '/products' }, proxy: 'catalog-http', ...route },
        // The gateway's own catalog routes (the search at the edge), public as in config/routes.json:
        // counted per address where the route above is counted per user.
        {
          name: 'catalog-api',
          match: { methods: ['GET'], path_prefix: '/api/catalog/' },
          retry: { attempts: 2 },
          rate_limit: route.rate_limit ? { policy: 'token_bucket:100000000/1000', key: 'ip' } : undefined,
        },
      ],
    }),
  );
  const preload = env.TRACING === 'on' ? ['--import', '@mercato/chassis/register'] : [];
  const child = start(
    name,
    process.execPath,
    [...cpuProfileFlags(), '--import', 'tsx', ...preload, 'apps/gateway/src/main.ts'],
    {
      PORT: String(port),
      MERCATO_SERVICE: 'gateway',
      LOG_LEVEL: 'warn',
      GATEWAY_ROUTES_FILE: routesFile,
      IDENTITY_URL: upstreamUrl,
      // This bench's routing table names its backends by address; nothing is found by name.
      MERCATO_DISCOVERY: 'static',
      ...env,
    },
  );
  await waitUntilUp(name, `http://127.0.0.1:${port}/bench/item`, auth, child);
  return { url: `http://127.0.0.1:${port}`, pid: child.pid };
};
const guarded = { auth: 'required', rate_limit: { policy: 'token_bucket:100000000/1000', key: 'user' } };
// Started together: each pays a second or two of CPU to start.
const bareProcess = start(
  'bare-proxy',
  process.execPath,
  ['--import', 'tsx', 'bench/gateway/bare-proxy.ts'],
  {
    PORT: String(ports.bare),
    UPSTREAM_URL: upstreamUrl,
    CATALOG_URL: catalogUrl,
  },
);
const [full, guardedGateway, plainGateway] = await Promise.all([
  startGateway('gateway-full', ports.gateway, guarded, {
    TRACING: 'on',
    OTEL_EXPORTER_OTLP_ENDPOINT: upstreamUrl,
  }),
  startGateway('gateway-guarded', ports.gatewayGuarded, guarded, {}),
  startGateway('gateway-plain', ports.gatewayPlain, {}, {}),
  waitUntilUp('bare-proxy', `http://127.0.0.1:${ports.bare}/bench/item`, {}, bareProcess),
]);
// Everything on, calling the catalog over mutual TLS.
const mtlsGateway = catalogMtlsProcess
  ? await startGateway(
      'gateway-mtls',
      ports.gatewayMtls,
      guarded,
      { TRACING: 'on', OTEL_EXPORTER_OTLP_ENDPOINT: upstreamUrl, ...gatewayTls },
      grpc(ports.catalogMtlsGrpc, 'https'),
    )
  : undefined;
const gatewayFull = full.url;
const gatewayGuarded = guardedGateway.url;
const gatewayPlain = plainGateway.url;

const nginx = spawnSync('nginx', ['-v']).status === 0;
if (nginx) {
  mkdirSync(path.join(work, 'nginx'), { recursive: true });
  const conf = path.join(work, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes 1;
daemon off;
pid ${work}/nginx.pid;
error_log ${work}/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${work}/nginx; proxy_temp_path ${work}/nginx; fastcgi_temp_path ${work}/nginx;
  uwsgi_temp_path ${work}/nginx; scgi_temp_path ${work}/nginx;
  upstream bench { server 127.0.0.1:${ports.upstream}; keepalive 64; }
  upstream catalog { server 127.0.0.1:${ports.catalog}; keepalive 64; }
  server {
    listen 127.0.0.1:${ports.nginx};
    location / { proxy_pass http://bench; proxy_http_version 1.1; proxy_set_header Connection ""; }
    location /products { proxy_pass http://catalog; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
`,
  );
  const nginxProcess = start('nginx', 'nginx', ['-c', conf, '-p', work]);
  await waitUntilUp('nginx', `http://127.0.0.1:${ports.nginx}/bench/item`, {}, nginxProcess);
}

interface Row {
  upstream: string;
  target: string;
  requests_per_second: number;
  requests: number;
  p50_ms: number;
  p99_ms: number;
  non_2xx: number;
  errors: number;
  ratio_to_direct: number;
}

const measure = async (
  upstream: string,
  target: string,
  url: string,
  headers: Record<string, string> = {},
) => {
  if (warmUpSeconds > 0) await autocannon({ url, connections, duration: warmUpSeconds, headers }); // JIT, pools, keys
  const result = await autocannon({ url, connections, duration: seconds, headers });
  return {
    upstream,
    target,
    requests_per_second: Math.round(result.requests.average),
    requests: result.requests.total,
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    non_2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
};

const paths: Record<string, { direct: string; path: string }> = {
  static: { direct: upstreamUrl, path: '/bench/item' },
  catalog: { direct: catalogUrl, path: '/products?page_size=20' },
};
const rows: Row[] = [];
for (const upstream of upstreams) {
  const target = paths[upstream];
  if (!target) throw new Error(`unknown upstream ${upstream}; expected static or catalog`);
  const measured = [await measure(upstream, 'direct', `${target.direct}${target.path}`)];
  if (nginx)
    measured.push(
      await measure(upstream, 'nginx, 1 worker (reference)', `http://127.0.0.1:${ports.nginx}${target.path}`),
    );
  measured.push(
    await measure(
      upstream,
      '@fastify/reply-from alone (reference)',
      `http://127.0.0.1:${ports.bare}${target.path}`,
    ),
  );
  measured.push(await measure(upstream, 'gateway: routing table only', `${gatewayPlain}${target.path}`));
  measured.push(
    await measure(upstream, 'gateway: + JWT auth + rate limit', `${gatewayGuarded}${target.path}`, auth),
  );
  measured.push(
    await measure(
      upstream,
      'gateway: everything (+ tracing, OTLP export)',
      `${gatewayFull}${target.path}`,
      auth,
    ),
  );
  const direct = measured[0]?.requests_per_second ?? 1;
  for (const row of measured)
    rows.push({ ...row, ratio_to_direct: Math.round((row.requests_per_second / direct) * 100) / 100 });
}
for (const row of rows)
  broken.expect(
    row.requests > 0 && row.errors === 0 && row.non_2xx === 0,
    `${row.upstream} through ${row.target}: ${row.requests} answered, ${row.non_2xx} non-2xx, ${row.errors} errors`,
  );

/** The search as catalog runs it (PostgresCatalogStore.listProducts), for the floor under the read. */
const searchSql = `SELECT p.*, count(*) OVER () AS total
  FROM products p
 WHERE ($1::text IS NULL OR p.search @@ to_tsquery('simple', $1))
   AND ($2::text IS NULL OR p.category_slug = $2)
 ORDER BY CASE WHEN $1::text IS NULL THEN 0 ELSE ts_rank(p.search, to_tsquery('simple', $1)) END DESC,
          p.name, p.id
 LIMIT $3 OFFSET $4`;
const searchPath = '/api/catalog/products?q=trail&page_size=20';
let search:
  | (Awaited<ReturnType<typeof measureEdgeRead>> & { select_ms: { p50_ms: number; p99_ms: number } })
  | undefined;
let searchMtls: Awaited<ReturnType<typeof measureEdgeRead>> | undefined;
if (catalogProcess) {
  process.stdout.write('catalog search at the edge (everything on): capacity, then half of it, open loop\n');
  const edge = await measureEdgeRead({
    url: `${gatewayFull}${searchPath}`,
    capacitySeconds: searchSeconds,
    seconds: searchSeconds,
    processes: { gateway: full.pid, catalog: catalogProcess.pid },
  });
  const db = new pg.Client({ connectionString: catalogDatabaseUrl });
  await db.connect();
  const select = await timeSequentially(smoke ? 50 : 2_000, () =>
    db.query(searchSql, ['trail:*', null, 20, 0]),
  );
  await db.end();
  search = { ...edge, select_ms: select };
  if (mtlsGateway && catalogMtlsProcess) {
    process.stdout.write('the same search with the gateway calling catalog over mutual TLS\n');
    const mutual = await measureEdgeRead({
      url: `${mtlsGateway.url}${searchPath}`,
      capacitySeconds: searchSeconds,
      seconds: searchSeconds,
      processes: { gateway: mtlsGateway.pid, catalog: catalogMtlsProcess.pid },
    });
    broken.expect(
      mutual.requests > 0 && mutual.broken_answers === 0 && mutual.capacity_errors === 0,
      `the catalog search over mutual TLS: ${mutual.requests} answered, ${mutual.broken_answers + mutual.capacity_errors} broken answers or failed connections`,
    );
    searchMtls = mutual;
  }
  broken.expect(
    edge.requests > 0 && edge.broken_answers === 0 && edge.capacity_errors === 0,
    `the catalog search at the edge: ${edge.requests} answered, ${edge.broken_answers + edge.capacity_errors} broken answers or failed connections`,
  );
}
const spanBytes = ((await (await fetch(`${upstreamUrl}/stats`)).json()) as { spanBytes: number }).spanBytes;
stopAll();
for (const cleanup of cleanups) await cleanup().catch(() => {});

console.table(
  rows.map((row) => ({
    upstream: row.upstream,
    target: row.target,
    'req/s': row.requests_per_second,
    'p50 ms': row.p50_ms,
    'p99 ms': row.p99_ms,
    'non-2xx': row.non_2xx,
    errors: row.errors,
    'x direct': row.ratio_to_direct,
  })),
);
for (const upstream of upstreams) {
  const full = rows.find((row) => row.upstream === upstream && row.target.startsWith('gateway: everything'));
  console.log(`${upstream}: gateway with everything on / direct = ${full?.ratio_to_direct} (target >= 0.5)`);
}
console.log(`spans exported to the OTLP sink: ${Math.round(spanBytes / 1024)} KiB`);
if (search) {
  const cpu = Object.keys(search.cpu_ms_per_request)
    .map(
      (name) =>
        `${name} ${search.cpu_ms_per_request[name]?.toFixed(2)} / ${search.cpu_ms_per_request_at_capacity[name]?.toFixed(2)}`,
    )
    .join(', ');
  console.log(
    `catalog search at the edge (GET ${searchPath}, everything on): capacity ${search.capacity_per_s}/s; ` +
      `at ${search.rate_per_s}/s (half), open loop: p50 ${search.p50_ms} ms, p99 ${search.p99_ms} ms (target ≤ 10 ms), ` +
      `${search.errors} errors; CPU per search at half / at capacity (ms): ${cpu}; ` +
      `the same search by SELECT: p50 ${search.select_ms.p50_ms} ms, p99 ${search.select_ms.p99_ms} ms`,
  );
}
if (search && searchMtls) {
  const total = (cpu: Record<string, number>) => Object.values(cpu).reduce((sum, ms) => sum + ms, 0);
  const off = total(search.cpu_ms_per_request_at_capacity);
  const on = total(searchMtls.cpu_ms_per_request_at_capacity);
  console.log(
    `mutual TLS between gateway and catalog (same search, everything on): capacity ${searchMtls.capacity_per_s}/s vs ${search.capacity_per_s}/s; ` +
      `p99 at half ${searchMtls.p99_ms} ms vs ${search.p99_ms} ms; gateway + catalog CPU per search at capacity ${on.toFixed(2)} ms vs ${off.toFixed(2)} ms ` +
      `(${on >= off ? '+' : ''}${Math.round(((on - off) / Math.max(0.01, off)) * 100)} %; target ≤ +15 %)`,
  );
}
if (!nginx) console.log('nginx is not installed: no reference row (apt-get install nginx-light to add it)');

const output = path.join(root, 'bench', 'results', 'gateway.json');
mkdirSync(path.dirname(output), { recursive: true });
await writeFile(
  output,
  `${JSON.stringify({ date: new Date().toISOString(), smoke, cpus: cpus().length, seconds, connections, span_bytes: spanBytes, results: rows, catalog_search_at_edge: search, catalog_search_at_edge_mtls: searchMtls }, null, 2)}\n`,
);
console.log(`wrote ${path.relative(root, output)}`);
broken.exitIfBroken('gateway');
process.exit(0);
