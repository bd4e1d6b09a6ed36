/**
 * The smoke mode every benchmark has: `BENCH_SMOKE=1` runs it with tiny counts in a few seconds, so
 * CI notices a benchmark that no longer runs (`npm run bench:smoke` runs them all). A smoke run
 * prints its table and writes its JSON as usual; it never judges a timing, only whether each phase
 * produced a result.
 */
export const smoke = process.env.BENCH_SMOKE === '1';

/** A numeric setting: its variable when set, else the smoke mode's tiny value or the full run's. */
export function setting(name: string, full: number, tiny: number): number {
  const given = process.env[name];
  if (given === undefined || given === '') return smoke ? tiny : full;
  const value = Number(given);
  if (!Number.isFinite(value) || value < 0) {
    process.stderr.write(`${name}: expected a number ≥ 0, got ${JSON.stringify(given)}\n`);
    process.exit(2);
  }
  return value;
}

/**
 * What broke, collected as a benchmark runs: a phase with no result, a request path answering
 * errors it should not. `exitIfBroken` ends the run with status 1 after the table is printed.
 */
export class Breakage {
  readonly problems: string[] = [];

  /** Records `what` as broken unless `ok`. */
  expect(ok: boolean, what: string): void {
    if (!ok) this.problems.push(what);
  }

  exitIfBroken(bench: string): void {
    if (this.problems.length === 0) return;
    for (const problem of this.problems) process.stderr.write(`bench/${bench} is broken: ${problem}\n`);
    process.exit(1);
  }
}

/**
 * `BENCH_CPU_PROF=<folder>`: Node flags that make a process the bench starts write a V8 CPU profile
 * there when it exits (`--cpu-prof` is refused in NODE_OPTIONS, so each bench adds them itself).
 */
export const cpuProfileFlags = (): string[] =>
  process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
