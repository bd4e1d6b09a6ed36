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
 * Then what a NOTIFY costs the server with sessions listening on other channels: PostgreSQL wakes
 * every session of the database that listens, whatever its channels, to read the notification and
 * drop it. The platform's message store has BENCH_LISTENERS (11: nine services' bus listeners, two
 * readers of the log) and each publish notifies; the same `pg_notify` to a channel nobody listens on
 * with none listening is the baseline. Server CPU is every process of the server (the sessions woken
 * included), from /proc.
 *
 * Each transport, and each count of listeners, runs BENCH_ROUNDS times (default 3), alternating,
 * after a warm-up; the tables give each one's best round. Linux only for the server's CPU (/proc).
 * Writes bench/results/pg-transport.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../apps/cli/src/postgres/embedded-server.ts';
import { cpuBetween, cpuOfPids, type ProcessLabeller, parentOf, sampleCpu } from '../process-cpu.ts';
import { Breakage, setting } from '../smoke-mode.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const statements = setting('BENCH_STATEMENTS', 20_000, 500);
const rounds = setting('BENCH_ROUNDS', 3, 1);
const port = setting('BENCH_PG_PORT', 25_951, 25_951);
const notifies = setting('BENCH_NOTIFIES', 5_000, 200);
const listenerCount = setting('BENCH_LISTENERS', 11, 11);
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
const notifyBest = new Map<number, number>();

/** The postmaster and every process it started (its sessions, its helpers): the server's CPU. */
const serverProcesses: ProcessLabeller = (pid) =>
  pid === server.pid || parentOf(pid) === server.pid ? 'postgres' : undefined;

/** Server µs a NOTIFY with `listening` sessions LISTENing on channels the NOTIFY does not use. */
const notifyCost = async (config: pg.ClientConfig, listening: number, count: number): Promise<number> => {
  const listeners: pg.Client[] = [];
  const publisher = new pg.Client(config);
  await publisher.connect();
  try {
    for (let n = 0; n < listening; n++) {
      const listener = new pg.Client(config);
      await listener.connect();
      listeners.push(listener);
      await listener.query(`LISTEN other_channel_${n}`);
    }
    const before = sampleCpu(serverProcesses);
    for (let n = 0; n < count; n++)
      await publisher.query({ name: 'notify', text: "SELECT pg_notify($1, '')", values: ['nobody_listens'] });
    const after = sampleCpu(serverProcesses);
    if (!before || !after) throw new Error('no /proc: the server’s CPU cannot be read here');
    const spent = cpuBetween(before, after).find(([name]) => name === 'postgres')?.[1] ?? 0;
    return (spent * 1_000) / count;
  } finally {
    for (const client of [publisher, ...listeners]) await client.end();
  }
};

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

  const socket = transports[1]?.[1] ?? {};
  for (const listening of [0, listenerCount]) await notifyCost(socket, listening, Math.min(notifies, 500));
  for (let round = 0; round < rounds; round++)
    for (const listening of [0, listenerCount]) {
      const us = await notifyCost(socket, listening, notifies);
      notifyBest.set(listening, Math.min(notifyBest.get(listening) ?? Number.POSITIVE_INFINITY, us));
    }
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

console.log(
  `\nA NOTIFY to a channel nobody listens on, ${notifies} one at a time per round, best of ${rounds}: the server's CPU (every session)\n`,
);
console.log(`${'sessions listening elsewhere'.padEnd(30)}${'server µs'.padStart(11)}${'÷ none'.padStart(9)}`);
const alone = notifyBest.get(0) ?? Number.NaN;
for (const [listening, us] of notifyBest)
  console.log(
    `${String(listening).padEnd(30)}${us.toFixed(1).padStart(11)}${(us / alone).toFixed(2).padStart(9)}`,
  );
broken.expect(notifyBest.size === 2, `expected a NOTIFY result with 0 and ${listenerCount} listening`);

mkdirSync(path.join(root, 'bench/results'), { recursive: true });
writeFileSync(
  path.join(root, 'bench/results/pg-transport.json'),
  `${JSON.stringify(
    {
      statements,
      rounds,
      node: process.version,
      results: Object.fromEntries(best),
      notify: { notifies, server_us_by_listeners: Object.fromEntries(notifyBest) },
    },
    null,
    2,
  )}\n`,
);
console.log('\nwritten to bench/results/pg-transport.json');
broken.exitIfBroken('pg-transport');
