/**
 * bench/http-client — CPU a JSON call costs the calling process: the chassis's `JsonHttpClient`
 * (kept-alive `node:http`, what payment and fulfillment call their provider and carrier with)
 * against Node's global `fetch` called as they called it before (a JSON body, an idempotency key,
 * `AbortSignal.timeout`), and a bare `http.request` on a keep-alive agent with no timeout, no
 * size limit and no retry as the same-run floor. The server runs in its own process (server.ts)
 * and answers a payment intent's JSON, so only the client's CPU is counted (`process.cpuUsage`).
 * No tracing is on, in any of them.
 *
 *   npm run bench:http-client
 *   BENCH_CALLS=20000 BENCH_CONCURRENCY=8 npm run bench:http-client
 *   BENCH_SMOKE=1 npm run bench:http-client   # 200 calls each (checks it runs, not a figure)
 *
 * Each client runs BENCH_ROUNDS times (default 3), alternating, after a warm-up; the table gives
 * each one's best round. Writes bench/results/http-client.json.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { JsonHttpClient } from '@mercato/chassis';
import { Breakage, setting } from '../smoke-mode.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const calls = setting('BENCH_CALLS', 5_000, 200);
const concurrency = setting('BENCH_CONCURRENCY', 4, 4);
const rounds = setting('BENCH_ROUNDS', 3, 1);
const broken = new Breakage();

const server = fork(fileURLToPath(new URL('./server.ts', import.meta.url)), {
  execArgv: ['--import', 'tsx'],
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const [port] = (await once(server, 'message')) as [number];
const base = `http://127.0.0.1:${port}`;
const body = { amount: 4_990, currency: 'eur', metadata: { order_id: 'order-1' } };

type Call = (n: number) => Promise<unknown>;

const viaFetch: Call = async (n) => {
  const response = await fetch(new URL('/v1/payment_intents', base), {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': `key-${n}` },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  });
  return response.json();
};

const client = new JsonHttpClient(base, { timeoutMs: 5_000 });
const viaClient: Call = (n) =>
  client.request({
    method: 'POST',
    path: '/v1/payment_intents',
    headers: { 'idempotency-key': `key-${n}` },
    body,
  });

const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
const viaBareHttp: Call = (n) =>
  new Promise((resolve, reject) => {
    const payload = Buffer.from(JSON.stringify(body));
    const request = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/v1/payment_intents',
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': String(payload.length),
          'idempotency-key': `key-${n}`,
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(payload);
  });

/** CPU µs of this process per call, and calls/s, for `count` calls `concurrency` at a time. */
async function measure(call: Call, count: number) {
  let next = 0;
  let failed = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const n = next++;
        await call(n).catch(() => {
          failed += 1;
        });
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  const seconds = (performance.now() - started) / 1_000;
  return { cpuUsPerCall: (used.user + used.system) / count, callsPerSecond: count / seconds, failed };
}

const clients: Array<[string, Call]> = [
  ['bare http.request (floor)', viaBareHttp],
  ['JsonHttpClient', viaClient],
  ['global fetch', viaFetch],
];
const best = new Map<string, { cpuUsPerCall: number; callsPerSecond: number }>();
for (const [, call] of clients) await measure(call, Math.min(calls, 500));
for (let round = 0; round < rounds; round++)
  for (const [name, call] of clients) {
    const result = await measure(call, calls);
    broken.expect(result.failed === 0, `${name}: ${result.failed} of ${calls} calls failed`);
    const known = best.get(name);
    if (!known || result.cpuUsPerCall < known.cpuUsPerCall) best.set(name, result);
  }
server.kill();
client.close();
agent.destroy();

const floor = best.get('bare http.request (floor)')?.cpuUsPerCall ?? Number.NaN;
const ours = best.get('JsonHttpClient')?.cpuUsPerCall ?? Number.NaN;
console.log(
  `\nbench/http-client — ${calls} JSON POSTs per round, ${concurrency} at a time, best of ${rounds}; client process CPU\n`,
);
console.log(
  `${'client'.padEnd(28)}${'CPU µs/call'.padStart(14)}${'÷ floor'.padStart(10)}${'÷ ours'.padStart(9)}${'calls/s'.padStart(10)}`,
);
for (const [name] of clients) {
  const result = best.get(name);
  if (!result) continue;
  console.log(
    `${name.padEnd(28)}${result.cpuUsPerCall.toFixed(1).padStart(14)}${(result.cpuUsPerCall / floor).toFixed(2).padStart(10)}${(result.cpuUsPerCall / ours).toFixed(2).padStart(9)}${result.callsPerSecond.toFixed(0).padStart(10)}`,
  );
}
for (const [name] of clients) broken.expect(best.has(name), `${name}: no result`);

mkdirSync(path.join(root, 'bench/results'), { recursive: true });
writeFileSync(
  path.join(root, 'bench/results/http-client.json'),
  `${JSON.stringify({ calls, concurrency, rounds, node: process.version, results: Object.fromEntries(best) }, null, 2)}\n`,
);
console.log('\nwritten to bench/results/http-client.json');
broken.exitIfBroken('http-client');
