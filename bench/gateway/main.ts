/**
 * bench/gateway — the same upstream measured directly, through the gateway with everything on
 * (routing table, bearer token verified, rate limit counted per user, spans created and exported
 * over OTLP), through the gateway with less on, through @fastify/reply-from alone, and through
 * nginx as the reference when it is installed. Two upstreams:
 *   - static: a minimal fastify app answering a fixed JSON document (the proxy's cost laid bare);
 *   - catalog: the real catalog service listing a page of products from PostgreSQL (what the
 *     gateway fronts in Mercato).
 *
 *   npm run bench:gateway
 *   BENCH_SECONDS=20 BENCH_CONNECTIONS=100 BENCH_UPSTREAMS=catalog npm run bench:gateway
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

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const base = Number(process.env.BENCH_PORT_BASE ?? 18080);
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
};
const root = fileURLToPath(new URL('../..', import.meta.url));
const work = mkdtempSync(path.join(tmpdir(), 'bench-gateway-'));
const children: ChildProcess[] = [];

const start = (name: string, command: string, args: string[], env: Record<string, string> = {}) => {
  const child = spawn(command, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
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

const waitUntilUp = (name: string, url: string, headers: Record<string, string> = {}) =>
  waitFor(
    `${name} answering at ${url}`,
    async () => (await fetch(url, { headers }).catch(() => undefined))?.ok === true,
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
start('upstream', process.execPath, ['--import', 'tsx', 'bench/gateway/upstream.ts'], {
  PORT: String(ports.upstream),
  BENCH_JWK: JSON.stringify(jwk),
});
await waitUntilUp('upstream', `${upstreamUrl}/bench/item`);

const catalogUrl = `http://127.0.0.1:${ports.catalog}`;
const cleanups: Array<() => Promise<void>> = [];
if (upstreams.includes('catalog')) {
  const database = await createTestDatabase('bench_catalog');
  const messages = await createTestMessageStore('bench_messages');
  cleanups.push(database.drop, messages.drop);
  start(
    'catalog',
    process.execPath,
    ['--import', 'tsx', '--import', '@mercato/chassis/register', 'services/catalog/src/main.ts'],
    {
      PORT: String(ports.catalog),
      GRPC_PORT: String(ports.catalogGrpc),
      MERCATO_SERVICE: 'catalog',
      LOG_LEVEL: 'warn',
      DATABASE_URL: database.url,
      MESSAGES_DATABASE_URL: messages.url,
    },
  );
  await waitUntilUp('catalog', `${catalogUrl}/readyz`);
}

const grpc = (port: number) => ({ protocol: 'grpc', backends: [{ url: `http://127.0.0.1:${port}` }] });
/** A gateway process with a routing table whose one route proxies /bench/ to the upstream. */
const startGateway = async (
  name: string,
  port: number,
  route: Record<string, unknown>,
  env: Record<string, string>,
) => {
  const routesFile = path.join(work, `${name}.routes.json`);
  writeFileSync(
    routesFile,
    JSON.stringify({
      clusters: {
        catalog: grpc(5001),
        identity: grpc(5002),
        customer: grpc(5003),
        pricing: grpc(5004),
        inventory: grpc(5005),
        'bench-upstream': { protocol: 'http', backends: [{ url: upstreamUrl }] },
        'catalog-http': { protocol: 'http', backends: [{ url: catalogUrl }] },
      },
      routes: [
        { name: 'bench', match: { path_prefix: '/bench/' }, proxy: 'bench-upstream', ...route },
        { name: 'catalog', match: { path_prefix: '/products' }, proxy: 'catalog-http', ...route },
      ],
    }),
  );
  const preload = env.TRACING === 'on' ? ['--import', '@mercato/chassis/register'] : [];
  start(name, process.execPath, ['--import', 'tsx', ...preload, 'apps/gateway/src/main.ts'], {
    PORT: String(port),
    MERCATO_SERVICE: 'gateway',
    LOG_LEVEL: 'warn',
    GATEWAY_ROUTES_FILE: routesFile,
    IDENTITY_URL: upstreamUrl,
    ...env,
  });
  await waitUntilUp(name, `http://127.0.0.1:${port}/bench/item`, auth);
  return `http://127.0.0.1:${port}`;
};
const guarded = { auth: 'required', rate_limit: { policy: 'token_bucket:100000000/1000', key: 'user' } };
const gatewayFull = await startGateway('gateway-full', ports.gateway, guarded, {
  TRACING: 'on',
  OTEL_EXPORTER_OTLP_ENDPOINT: upstreamUrl,
});
const gatewayGuarded = await startGateway('gateway-guarded', ports.gatewayGuarded, guarded, {});
const gatewayPlain = await startGateway('gateway-plain', ports.gatewayPlain, {}, {});
start('bare-proxy', process.execPath, ['--import', 'tsx', 'bench/gateway/bare-proxy.ts'], {
  PORT: String(ports.bare),
  UPSTREAM_URL: upstreamUrl,
  CATALOG_URL: catalogUrl,
});
await waitUntilUp('bare-proxy', `http://127.0.0.1:${ports.bare}/bench/item`);

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
  start('nginx', 'nginx', ['-c', conf, '-p', work]);
  await waitUntilUp('nginx', `http://127.0.0.1:${ports.nginx}/bench/item`);
}

interface Row {
  upstream: string;
  target: string;
  requests_per_second: number;
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
  await autocannon({ url, connections, duration: 2, headers }); // warm-up: JIT, pools, keys
  const result = await autocannon({ url, connections, duration: seconds, headers });
  return {
    upstream,
    target,
    requests_per_second: Math.round(result.requests.average),
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
if (!nginx) console.log('nginx is not installed: no reference row (apt-get install nginx-light to add it)');

const output = path.join(root, 'bench', 'results', 'gateway.json');
mkdirSync(path.dirname(output), { recursive: true });
await writeFile(
  output,
  `${JSON.stringify({ date: new Date().toISOString(), cpus: cpus().length, seconds, connections, span_bytes: spanBytes, results: rows }, null, 2)}\n`,
);
console.log(`wrote ${path.relative(root, output)}`);
process.exit(0);
