/**
 * `npm test`'s runner: the unit and integration suites in one vitest process beside the e2e suite
 * in another, so that both cores work the whole time; and beside both, the static checks (`npm run
 * checks`: the type-check, lint and the contracts' compatibility), which ran alone before them on
 * one core (29 s of a CI run). A failed check stops the suites.
 *
 * Vitest puts a project that runs one file at a time (e2e: one platform at a time) in a group of
 * its own, after every other project: in one process the e2e files, which mostly wait on a
 * platform, ran alone on a machine with a core to spare. Here they start at once, beside the other
 * suites.
 *
 * The suites that put the whole machine under load on purpose (releases, autoscaling: a platform
 * at 50–100 requests a second while processes start and stop) run last, on their own, once both
 * runs have ended: beside them, the integration suites' timings (a saga step's 600 ms, a process's
 * start) were at the mercy of that load, not of their code.
 *
 * The unit lane may go on with a command once its suites have ended, before the suites under load:
 * `MERCATO_TEST_AFTER_UNIT` (a shell command line, run from the repository's root). That lane ends
 * minutes before the e2e lane; CI runs the browser suite there instead of after `npm test`.
 *
 * The e2e output goes straight through (it is the longer run); the others' output is printed whole
 * when each run ends, so they never interleave. Exits non-zero when any fails,
 * and then prints each failed run's report of its failures again, last: a CI log that keeps only
 * its tail still says which test failed.
 * Arguments are passed to the vitest runs (e.g. `npm test -- --reporter=verbose`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { failureReport } from './failure-report.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const vitest = fileURLToPath(new URL('../../node_modules/vitest/vitest.mjs', import.meta.url));
const extra = process.argv.slice(2);
/** npm as `npm test` ran it (its CLI script, by this Node), or the one on the PATH. */
const npm: [string, string[]] = process.env.npm_execpath
  ? [process.execPath, [process.env.npm_execpath]]
  : ['npm', []];

interface Run {
  name: string;
  child: ChildProcess;
  output: Buffer[];
  ended: Promise<number>;
  /** Stopped by this runner, a check having failed: not a failure of its own. */
  stopped?: boolean;
}

/**
 * e2e suites that load the whole machine, or that must not be starved while they prove nothing is
 * lost under load (a `kill -9` of one of three instances unseen at the edge: a CPU stall from the
 * unit and integration suites beside it fills the gateway's adaptive limit and reads are refused;
 * a restarted service serving every request sent 5 s after it is ready: beside them, a restarted
 * pricing's first calls timed out and kept the gateway's circuit open 6.7 s, CI 4 Dec):
 * run after the others (see above).
 */
const underLoad = [
  'e2e/restarts-at-the-edge.e2e.test.ts',
  'e2e/replicas.e2e.test.ts',
  'e2e/rolling-release.e2e.test.ts',
  'e2e/blue-green-release.e2e.test.ts',
  'e2e/autoscale.e2e.test.ts',
];

/** Vitest's command for some projects (and file filters), with the ones `npm test` was given. */
const vitestRun = (projects: string[], filters: string[] = []): [string, string[]] => [
  process.execPath,
  [vitest, 'run', ...projects.flatMap((project) => ['--project', project]), ...filters, ...extra],
];

function start(name: string, [command, args]: [string, string[]], buffered: boolean): Run {
  const child = spawn(command, args, {
    cwd: root,
    // A process group of its own, so that stopping a run stops what its tests started (a platform
    // a test file runs is a child of vitest's worker, not of vitest: it outlived a signal to vitest).
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FORCE_COLOR: process.stdout.isTTY ? '1' : process.env.FORCE_COLOR },
  });
  const output: Buffer[] = [];
  for (const [stream, sink] of [
    [child.stdout, process.stdout],
    [child.stderr, process.stderr],
  ] as const)
    stream?.on('data', (chunk: Buffer) => {
      output.push(chunk);
      if (!buffered) sink.write(chunk);
    });
  const ended = new Promise<number>((resolve) => {
    // 'close', not 'exit': the output piped from a run is whole only once its streams end.
    child.on('close', (code, signal) => {
      if (buffered)
        process.stdout.write(
          Buffer.concat([Buffer.from(`\n== ${name} (ran beside the e2e suite)\n`), ...output]),
        );
      resolve(code ?? (signal ? 1 : 0));
    });
  });
  return { name, child, output, ended };
}

const runs = [
  // The static checks take one core for half a minute (`tsc -b` is single-threaded): beside the
  // suites rather than before them. A failure stops the suites (below).
  start('static checks', [npm[0], [...npm[1], 'run', '--silent', 'checks']], true),
  start(
    'unit and integration suites',
    vitestRun(['unit', 'unit-isolated', 'manifests', 'integration', 'integration-isolated']),
    true,
  ),
  start(
    'e2e suite',
    vitestRun(
      ['e2e'],
      underLoad.flatMap((file) => ['--exclude', file]),
    ),
    false,
  ),
];

/** Starts the command line in `MERCATO_TEST_AFTER_UNIT` once the unit lane has ended, unless stopping. */
function afterUnit(lane: Run | undefined): Promise<Run | undefined> {
  const command = process.env.MERCATO_TEST_AFTER_UNIT?.trim();
  if (!lane || !command) return Promise.resolve(undefined);
  return lane.ended.then(() => {
    if (stopping) return undefined;
    const run = start(`MERCATO_TEST_AFTER_UNIT (${command})`, ['/bin/sh', ['-c', command]], true);
    runs.push(run);
    return run;
  });
}

/** Signals a run's whole process group (see `start`). */
const signalRun = (run: Run, signal: NodeJS.Signals): void => {
  if (run.child.pid === undefined || run.child.exitCode !== null) return;
  try {
    process.kill(-run.child.pid, signal);
  } catch {
    // The group is gone already.
  }
};

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => {
    stopping = true;
    for (const run of runs) signalRun(run, signal);
  });

// A type error or a lint finding fails `npm test` at once: the suites are not worth their minutes.
void runs[0]?.ended.then((code) => {
  if (code === 0 || stopping) return;
  stopping = true;
  process.stderr.write('\nthe static checks failed: stopping the suites\n');
  for (const run of runs.slice(1))
    if (run.child.exitCode === null) {
      run.stopped = true;
      signalRun(run, 'SIGTERM');
    }
});

await (await afterUnit(runs[1]))?.ended;
const codes = await Promise.all(runs.map((run) => run.ended));
if (!stopping) {
  process.stdout.write(`\n== e2e suites under load (${underLoad.join(', ')}), after the others\n`);
  const last = start('e2e suites under load', vitestRun(['e2e'], underLoad), false);
  runs.push(last);
  codes.push(await last.ended);
}
const failed = runs.filter((run, index) => codes[index] !== 0 && !run.stopped);
if (failed.length > 0) {
  for (const run of failed)
    process.stderr.write(
      `\n== what failed in the ${run.name}\n${failureReport(Buffer.concat(run.output).toString('utf8'))}\n`,
    );
  const stopped = runs.filter((run) => run.stopped);
  process.stderr.write(
    `\nfailed: ${failed.map((run) => run.name).join(' and ')}${stopped.length > 0 ? ` (stopped: ${stopped.map((run) => run.name).join(' and ')})` : ''}\n`,
  );
  process.exit(1);
}
process.stdout.write(`\n${runs.map((run) => run.name).join(' and ')} passed\n`);
