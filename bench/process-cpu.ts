/**
 * CPU time spent by each process of the machine between two samples, from /proc (Linux only; on
 * another system `sampleCpu` returns undefined and a benchmark prints no breakdown). A benchmark
 * uses it to say what limits a figure in the same run: which process spent the CPU, per unit of
 * work, beside the CPU the baseline spent per transaction.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Cumulative CPU milliseconds per label at one moment. */
export type CpuSample = Map<string, number>;

/** Names a process from its pid and command name; undefined counts it as "other". */
export type ProcessLabeller = (pid: number, command: string) => string | undefined;

const ticksPerSecond = 100;

function processTimes(pid: string): { command: string; ms: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command is in parentheses and may contain spaces; the fields after it are fixed.
    const command = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return { command, ms: (ticks * 1_000) / ticksPerSecond };
  } catch {
    // The process ended between listing and reading.
    return undefined;
  }
}

/** The parent of a process now, or undefined when it is gone (a PostgreSQL backend's is its postmaster). */
export function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/**
 * CPU milliseconds the children of `pid` that have exited (and been waited for) spent: a PostgreSQL
 * session that ends between two samples is in no sample, only in its postmaster's figure here.
 */
export function cpuOfEndedChildren(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[13]) + Number(fields[14])) * 1_000) / ticksPerSecond;
  } catch {
    return 0;
  }
}

/** Cumulative CPU milliseconds of each of these processes now (a process gone counts 0). */
export function cpuOfPids(pids: number[]): Map<number, number> {
  return new Map(pids.map((pid) => [pid, processTimes(String(pid))?.ms ?? 0]));
}

/** Every process id of the machine now, or undefined without /proc (not Linux). */
function processIds(): string[] | undefined {
  try {
    return readdirSync('/proc').filter((entry) => /^\d+$/.test(entry));
  } catch {
    return undefined;
  }
}

export function sampleCpu(label: ProcessLabeller): CpuSample | undefined {
  const pids = processIds();
  if (!pids) return undefined;
  const sample: CpuSample = new Map();
  for (const pid of pids) {
    const times = processTimes(pid);
    if (!times) continue;
    // A pid's label is part of the key, so a process replaced by another under the same label
    // (a restart) still only counts what it spent between the samples.
    const name = `${label(Number(pid), times.command) ?? 'other'}\u0000${pid}`;
    sample.set(name, times.ms);
  }
  return sample;
}

/** CPU milliseconds per label spent between two samples, largest first. */
export function cpuBetween(before: CpuSample, after: CpuSample): Array<[string, number]> {
  const spent = new Map<string, number>();
  for (const [key, ms] of after) {
    const delta = ms - (before.get(key) ?? 0);
    if (delta <= 0) continue;
    const name = key.slice(0, key.indexOf('\u0000'));
    spent.set(name, (spent.get(name) ?? 0) + delta);
  }
  return [...spent].sort((a, b) => b[1] - a[1]);
}

/**
 * Private resident memory (`RssAnon`, MB) of the processes a labeller names, summed per label: what
 * each holds of its own, not the shared memory every PostgreSQL backend maps (its buffers).
 */
export function privateMemoryMb(label: ProcessLabeller): Map<string, number> {
  const memory = new Map<string, number>();
  for (const pid of processIds() ?? []) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const command = /^Name:\s+(.*)$/m.exec(status)?.[1] ?? '';
      const name = label(Number(pid), command);
      if (name === undefined) continue;
      const kb = Number(/^RssAnon:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      memory.set(name, (memory.get(name) ?? 0) + kb / 1024);
    } catch {
      // The process ended between listing and reading.
    }
  }
  return memory;
}
