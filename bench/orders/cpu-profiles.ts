/**
 * What a process spent its CPU on during a window of a run, from the `.cpuprofile` files Node writes
 * on exit under `--cpu-prof` (V8's sampling profiler). Samples carry monotonic timestamps in
 * microseconds (the clock `process.hrtime` reads, the same in every process of the machine), so only
 * the samples of the measured phase are counted, not the process's start or stop.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { SourceLocator } from './library-maps.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
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
  /**
   * Busy samples counted at the sampling interval (a sample taken late, after the thread was
   * preempted, counts one interval): near the process's CPU time in the window, profiling's own
   * cost included. Functions and packages are counted the same way.
   */
  busy_ms: number;
  /** Busy samples counted by their gaps in full: also the time the thread waited for a core. */
  busy_wall_ms: number;
  /** Self time per function, largest first: `name (file:line)`. */
  top_functions: Array<{ name: string; ms: number }>;
  /** Self time per package (a node_modules package, our own code by workspace, or V8's own), top 40. */
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
  // Node's own code by area: node:internal/http2, node:internal/streams, node:net, …
  if (url.startsWith('node:'))
    return url
      .split('/')
      .slice(0, url.startsWith('node:internal/deps/') ? 3 : 2)
      .join('/');
  const file = shortFile(url);
  if (url.includes('node_modules/')) {
    const parts = file.split('/');
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? file);
  }
  const parts = file.split('/');
  return parts.length > 2 ? `${parts[0]}/${parts[1]}` : file;
};

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] ?? 0;
};

const top = (totals: Map<string, number>, count: number) =>
  [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, us]) => ({ name, ms: Math.round(us / 100) / 10 }));

const profileFiles = (dir: string): string[] => {
  try {
    return readdirSync(dir)
      .filter((name) => name.endsWith('.cpuprofile'))
      .map((name) => path.join(dir, name));
  } catch {
    return [];
  }
};

/** The bundles (`.cjs`) the profiles in `dir` ran code of, as their `file://` URLs. */
export function bundleUrls(dir: string): Set<string> {
  const urls = new Set<string>();
  for (const file of profileFiles(dir))
    for (const node of (JSON.parse(readFileSync(file, 'utf8')) as CpuProfile).nodes)
      if (node.callFrame.url.endsWith('.cjs')) urls.add(node.callFrame.url);
  return urls;
}

/**
 * Summarises one profile's samples between `fromUs` and `toUs` (monotonic microseconds). With
 * `locate`, a frame in a bundle is named and counted by the source it came from (library-maps.ts),
 * not by the bundle.
 */
export function summariseProfile(
  file: string,
  fromUs: number,
  toUs: number,
  count = 25,
  locate?: SourceLocator,
): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const nodes = new Map(
    profile.nodes.map((node) => {
      const { url, lineNumber, columnNumber } = node.callFrame;
      const source = locate?.(url, lineNumber, columnNumber);
      // A located frame keeps its bundle line out of its name: the source file says where it is.
      return [
        node.id,
        source ? { ...node.callFrame, url: `file://${source}`, lineNumber: -1 } : node.callFrame,
      ];
    }),
  );
  const functions = new Map<string, number>();
  const packages = new Map<string, number>();
  const cap = 1.5 * median(profile.timeDeltas);
  let at = profile.startTime;
  let sampled = 0;
  let idle = 0;
  let wall = 0;
  for (const [index, nodeId] of profile.samples.entries()) {
    const gap = profile.timeDeltas[index] ?? 0;
    at += gap;
    if (at < fromUs || at > toUs) continue;
    const frame = nodes.get(nodeId);
    if (!frame) continue;
    // A sample long after the one before was taken when the thread ran again: it was preempted
    // (15 processes on two cores), and the gap is time it waited, not time it ran. Counted as one
    // sampling interval, as a sample count would; the gap in full is the wall-clock figure.
    const delta = Math.min(gap, cap);
    sampled += delta;
    if (frame.functionName === '(idle)') {
      idle += delta;
      continue;
    }
    wall += gap;
    const line = frame.lineNumber >= 0 ? `:${frame.lineNumber + 1}` : '';
    const where = frame.url ? ` ${shortFile(frame.url)}${line}` : '';
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
    busy_wall_ms: Math.round(wall / 1_000),
    top_functions: top(functions, count),
    top_packages: top(packages, 40),
  };
}

/** Every profile in `dir`, summarised for the window. */
export function summariseProfiles(
  dir: string,
  fromUs: number,
  toUs: number,
  locate?: SourceLocator,
): ProfileSummary[] {
  return profileFiles(dir).map((file) => summariseProfile(file, fromUs, toUs, 25, locate));
}
