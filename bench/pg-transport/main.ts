/**
 * bench/pg-transport — what one statement's round trip to PostgreSQL costs over TCP on loopback
 * and over the server's Unix-domain socket, the two ways a service can reach the embedded server
 * (`npm start` connects the services through the socket; see docs/running.md). It starts an embedded
 * PostgreSQL as `npm start` does (apps/cli's `startEmbeddedPostgres`), opens one connection each
 * way, and runs a small prepared statement (`SELECT $1::int, now()`: parse and plan done once, so
 * what is left is mostly the transport) one at a time, as a service's transaction does. For each
 * transport: the client's CPU (`process.cpuUsage`) and the server session's (from /proc) per
 * statement, and the wall time; TCP is the same-run baseline.
 *
 *   npm run bench:pg-transport
 *   BENCH_STATEMENTS=50000 npm run bench:pg-transport
 *   BENCH_SMOKE=1 npm run bench:pg-transport   # 500 statements each (checks it runs, not a figure)
 *
 * Each transport runs BENCH_ROUNDS times (default 3), alternating, after a warm-up; the table gives
 * each one's best round. Linux only for the server's CPU (/proc). Writes
 * bench/results/pg-transport.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../apps/cli/src/postgres/embedded-server.ts';
import { cpuOfPids } from '../process-cpu.ts';
import { Breakage, setting } from '../smoke-mode.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const statements = setting('BENCH_STATEMENTS', 20_000, 500);
const rounds = setting('BENCH_ROUNDS', 3, 1);
const port = setting('BENCH_PG_PORT', 25_951, 25_951);
const broken = new Breakage();

interface Result {
  clientUs: number;
  serverUs: number;
  wallUs: number;
}

const dataDir = mkdtempSync(path.join(tmpdir(), 'mercato-bench-pg-transport-'));
const server = await startEmbeddedPostgres(dataDir, port, {
  log: () => undefined,
  onDied: () => undefined,
  onRestarted: () => undefined,
});

const best = new Map<string, Result>();
try {
  if (!server.socketDirectory) throw new Error(`no Unix-domain socket for ${dataDir} on ${process.platform}`);
  const transports: Array<[string, pg.ClientConfig]> = [
    ['TCP 127.0.0.1 (baseline)', { ...server.admin, database: 'postgres' }],
    ['Unix-domain socket', { ...server.admin, host: server.socketDirectory, database: 'postgres' }],
  ];
  const clients = new Map<string, { client: pg.Client; backend: number }>();
  for (const [name, config] of transports) {
    const client = new pg.Client(config);
    await client.connect();
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    clients.set(name, { client, backend: rows[0]?.pid ?? 0 });
  }

  const run = async (name: string, count: number): Promise<Result> => {
    const { client, backend } = clients.get(name) ?? {};
    if (!client || !backend) throw new Error(`no connection for ${name}`);
    const serverBefore = cpuOfPids([backend]).get(backend) ?? 0;
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let n = 0; n < count; n++)
      await client.query({ name: 'round-trip', text: 'SELECT $1::int AS n, now() AS at', values: [n] });
    const wall = performance.now() - started;
    const used = process.cpuUsage(cpu);
    const serverMs = (cpuOfPids([backend]).get(backend) ?? 0) - serverBefore;
    return {
      clientUs: (used.user + used.system) / count,
      serverUs: (serverMs * 1_000) / count,
      wallUs: (wall * 1_000) / count,
    };
  };

  for (const [name] of transports) await run(name, Math.min(statements, 2_000));
  for (let round = 0; round < rounds; round++)
    for (const [name] of transports) {
      const result = await run(name, statements);
      const known = best.get(name);
      if (!known || result.clientUs + result.serverUs < known.clientUs + known.serverUs)
        best.set(name, result);
    }
  for (const { client } of clients.values()) await client.end();
} finally {
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
}

const baseline = best.get('TCP 127.0.0.1 (baseline)');
console.log(
  `\nbench/pg-transport — ${statements} prepared statements one at a time per round, best of ${rounds}; CPU a statement\n`,
);
console.log(
  `${'transport'.padEnd(28)}${'client µs'.padStart(11)}${'server µs'.padStart(11)}${'both µs'.padStart(10)}${'÷ TCP'.padStart(8)}${'wall µs'.padStart(10)}`,
);
for (const [name, result] of best) {
  const both = result.clientUs + result.serverUs;
  const ratio = baseline ? both / (baseline.clientUs + baseline.serverUs) : Number.NaN;
  console.log(
    `${name.padEnd(28)}${result.clientUs.toFixed(1).padStart(11)}${result.serverUs.toFixed(1).padStart(11)}${both.toFixed(1).padStart(10)}${ratio.toFixed(2).padStart(8)}${result.wallUs.toFixed(1).padStart(10)}`,
  );
}
broken.expect(best.size === 2, `expected a result for both transports, got ${best.size}`);

mkdirSync(path.join(root, 'bench/results'), { recursive: true });
writeFileSync(
  path.join(root, 'bench/results/pg-transport.json'),
  `${JSON.stringify({ statements, rounds, node: process.version, results: Object.fromEntries(best) }, null, 2)}\n`,
);
console.log('\nwritten to bench/results/pg-transport.json');
broken.exitIfBroken('pg-transport');
