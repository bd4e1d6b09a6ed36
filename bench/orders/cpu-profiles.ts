/**
 * What a process spent its CPU on during a window of a run, from the `.cpuprofile` files Node writes
 * on exit under `--cpu-prof` (V8's sampling profiler). Samples carry monotonic timestamps in
 * microseconds (the clock `process.hrtime` reads, the same in every process of the machine), so only
 * the samples of the measured phase are counted, not the process's start or stop.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  pid: number;
  /** Milliseconds of samples inside the window (idle and GC included, as V8 names them). */
  sampled_ms: number;
  busy_ms: number;
  /** Self time per function, largest first: `name (file:line)`. */
  top_functions: Array<{ name: string; ms: number }>;
  /** Self time per package (a node_modules package, our own code by workspace, or V8's own). */
  top_packages: Array<{ name: string; ms: number }>;
}

const shortFile = (url: string): string => {
  const file = url.replace(/^file:\/\//, '');
  const modules = file.lastIndexOf('node_modules/');
  if (modules >= 0) return file.slice(modules + 'node_modules/'.length);
  const inRepo = file.match(/\/(packages|services|apps)\/.*$/);
  return inRepo ? inRepo[0].slice(1) : file;
};

const packageOf = (url: string, functionName: string): string => {
  if (!url) return `(${functionName || 'native'})`;
  if (url.startsWith('node:')) return 'node:internal';
  const file = shortFile(url);
  if (url.includes('node_modules/')) {
    const parts = file.split('/');
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? file);
  }
  const parts = file.split('/');
  return parts.length > 2 ? `${parts[0]}/${parts[1]}` : file;
};

const top = (totals: Map<string, number>, count: number) =>
  [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, us]) => ({ name, ms: Math.round(us / 100) / 10 }));

/** Summarises one profile's samples between `fromUs` and `toUs` (monotonic microseconds). */
export function summariseProfile(file: string, fromUs: number, toUs: number, count = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const functions = new Map<string, number>();
  const packages = new Map<string, number>();
  let at = profile.startTime;
  let sampled = 0;
  let idle = 0;
  for (const [index, nodeId] of profile.samples.entries()) {
    const delta = profile.timeDeltas[index] ?? 0;
    at += delta;
    if (at < fromUs || at > toUs) continue;
    const frame = nodes.get(nodeId);
    if (!frame) continue;
    sampled += delta;
    if (frame.functionName === '(idle)') {
      idle += delta;
      continue;
    }
    const where = frame.url ? ` ${shortFile(frame.url)}:${frame.lineNumber + 1}` : '';
    const name = `${frame.functionName || '(anonymous)'}${where}`;
    functions.set(name, (functions.get(name) ?? 0) + delta);
    const pkg = packageOf(frame.url, frame.functionName);
    packages.set(pkg, (packages.get(pkg) ?? 0) + delta);
  }
  const pid = Number(path.basename(file).split('.')[3] ?? 0);
  return {
    pid,
    sampled_ms: Math.round(sampled / 1_000),
    busy_ms: Math.round((sampled - idle) / 1_000),
    top_functions: top(functions, count),
    top_packages: top(packages, 12),
  };
}

/** Every profile in `dir`, summarised for the window. */
export function summariseProfiles(dir: string, fromUs: number, toUs: number): ProfileSummary[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((name) => name.endsWith('.cpuprofile'));
  } catch {
    return [];
  }
  return files.map((name) => summariseProfile(path.join(dir, name), fromUs, toUs));
}
