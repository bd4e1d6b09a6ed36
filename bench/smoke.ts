/**
 * Runs every benchmark in its smoke mode (BENCH_SMOKE=1: tiny counts, a few seconds each), one after
 * another, and prints how long each took and whether it still works; exits 1 when any failed. CI
 * runs it after the tests, so a benchmark that stops running fails the build instead of rotting.
 *
 *   npm run bench:smoke                # all of them
 *   npm run bench:smoke -- gateway bus # some of them
 *
 * A benchmark whose `bench/<name>/main.ts` does not exist is skipped with the reason printed. Each
 * runs with its own npm script when package.json has one (`bench:<name>`, so its Node flags apply),
 * else as `node --import tsx bench/<name>/main.ts`, and is stopped after BENCH_SMOKE_TIMEOUT_SECONDS
 * (default 180).
 *
 * BENCH_SMOKE_JOBS (default 2) benches run at once: each has its own ports, and most of a smoke
 * run is waiting (a platform starting, a phase's seconds), so two at a time take about two thirds
 * of the time one at a time does. With more than one, a bench's output is printed whole when it
 * ends. No timing of a smoke run means anything, at any number of jobs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCHES = [
  'bus',
  'gateway',
  'read-models',
  'streams',
  'web',
  'orders',
  'startup',
  'idle',
  'overload',
  'cdc',
  'http-client',
  'pg-transport',
];

const root = fileURLToPath(new URL('..', import.meta.url));
const timeoutSeconds = Number(process.env.BENCH_SMOKE_TIMEOUT_SECONDS ?? 180);
if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
  process.stderr.write('BENCH_SMOKE_TIMEOUT_SECONDS: expected a number of seconds > 0\n');
  process.exit(2);
}
const jobs = Number(process.env.BENCH_SMOKE_JOBS ?? 2);
if (!Number.isInteger(jobs) || jobs < 1) {
  process.stderr.write('BENCH_SMOKE_JOBS: expected a whole number of benches at once, ≥ 1\n');
  process.exit(2);
}
const asked = process.argv.slice(2);
const unknown = asked.filter((name) => !BENCHES.includes(name));
if (unknown.length > 0) {
  process.stderr.write(
    `bench:smoke: unknown ${unknown.join(', ')} (expected some of ${BENCHES.join(', ')})\n`,
  );
  process.exit(2);
}
const scripts = (
  JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
).scripts;

interface Outcome {
  bench: string;
  seconds: number;
  result: string;
  failed: boolean;
}

/**
 * Runs one bench in smoke mode in its own process group (so a timeout stops all it started). Its
 * output goes straight through when it runs alone, else into `output`, printed when it ends.
 */
function run(name: string, output?: Buffer[]): Promise<{ code: number | null; timedOut: boolean }> {
  const [command, args] = scripts[`bench:${name}`]
    ? ['npm', ['run', '--silent', `bench:${name}`]]
    : [process.execPath, ['--import', 'tsx', `bench/${name}/main.ts`]];
  const child = spawn(command, args, {
    cwd: root,
    env: { ...process.env, BENCH_SMOKE: '1' },
    stdio: output ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    detached: true,
  });
  for (const stream of [child.stdout, child.stderr])
    stream?.on('data', (chunk: Buffer) => output?.push(chunk));
  running.add(child);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    process.stderr.write(`bench/${name}: still running after ${timeoutSeconds} s; stopping it\n`);
    try {
      if (child.pid) process.kill(-child.pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
    setTimeout(() => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }, 10_000).unref();
  }, timeoutSeconds * 1_000);
  // What a piped bench printed last may still be in its pipe when it exits: wait for both streams to
  // end, but not for long, since a process it started and left behind may hold them open.
  const drained = Promise.race([
    Promise.all(
      [child.stdout, child.stderr].map(
        (stream) => stream && new Promise((resolve) => stream.once('close', resolve)),
      ),
    ),
    new Promise((resolve) => child.once('exit', () => setTimeout(resolve, 2_000).unref())),
  ]);
  return new Promise((resolve) => {
    child.on('exit', (code) => {
      running.delete(child);
      clearTimeout(timer);
      void drained.then(() => resolve({ code, timedOut }));
    });
  });
}

const running = new Set<ChildProcess>();
// Stopped by hand (Ctrl-C) or by CI: the benches running now stop with everything they started.
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => {
    for (const child of running)
      try {
        if (child.pid && child.exitCode === null) process.kill(-child.pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
    process.exit(130);
  });

const outcomes: Outcome[] = [];
const queue = asked.length > 0 ? [...asked] : [...BENCHES];
const began = performance.now();

async function smokeOne(name: string): Promise<void> {
  if (!existsSync(path.join(root, 'bench', name, 'main.ts'))) {
    outcomes.push({
      bench: name,
      seconds: 0,
      result: `skipped: bench/${name}/main.ts does not exist`,
      failed: false,
    });
    process.stdout.write(`\n== bench/${name}: skipped (bench/${name}/main.ts does not exist)\n`);
    return;
  }
  const heading = `\n== bench/${name} (BENCH_SMOKE=1)\n`;
  const output: Buffer[] | undefined = jobs > 1 ? [] : undefined;
  if (!output) process.stdout.write(heading);
  const started = performance.now();
  const { code, timedOut } = await run(name, output);
  const seconds = (performance.now() - started) / 1_000;
  if (output) process.stdout.write(Buffer.concat([Buffer.from(heading), ...output]));
  const failed = timedOut || code !== 0;
  outcomes.push({
    bench: name,
    seconds,
    result: timedOut ? `failed: timed out after ${timeoutSeconds} s` : failed ? `failed: exit ${code}` : 'ok',
    failed,
  });
}

await Promise.all(
  Array.from({ length: Math.min(jobs, queue.length) }, async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) await smokeOne(name);
  }),
);
const wallSeconds = (performance.now() - began) / 1_000;
const listed = asked.length > 0 ? asked : BENCHES;
outcomes.sort((a, b) => listed.indexOf(a.bench) - listed.indexOf(b.bench));

const rows = [
  ['bench', 'seconds', 'result'],
  ...outcomes.map((outcome) => [outcome.bench, outcome.seconds.toFixed(1), outcome.result]),
  ['total', outcomes.reduce((sum, outcome) => sum + outcome.seconds, 0).toFixed(1), ''],
  ['wall', wallSeconds.toFixed(1), `${jobs} at a time`],
];
const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
process.stdout.write('\nbenchmarks in smoke mode\n');
for (const row of rows)
  process.stdout.write(`${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ')}\n`);
const failures = outcomes.filter((outcome) => outcome.failed);
if (failures.length > 0) {
  process.stderr.write(
    `\n${failures.length} benchmark(s) broken: ${failures.map((f) => f.bench).join(', ')}\n`,
  );
  process.exit(1);
}
