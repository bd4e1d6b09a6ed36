/**
 * What a process's memory costs the machine, from /proc (Linux only; elsewhere every figure is 0).
 *
 * RSS counts every page a process has mapped, the pages it shares with others included: each Node
 * process of the platform maps ~45 MB of the `node` binary (its text, the V8 snapshot, Node's own
 * JavaScript) that the page cache holds once for all fifteen, and every PostgreSQL backend maps
 * the shared buffers. Summing RSS over processes counts those pages once per process. PSS
 * (proportional set size) charges a shared page to each of its n sharers by 1/n, so PSS sums to
 * what the processes take together; private memory is what would be freed if the process ended.
 */
import { readFileSync } from 'node:fs';

export interface ProcessMemory {
  rssMb: number;
  pssMb: number;
  privateMb: number;
}

const none: ProcessMemory = { rssMb: 0, pssMb: 0, privateMb: 0 };

const kilobytes = (rollup: string, field: string): number =>
  Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1] ?? 0);

/** One process's memory now (zeros when it is gone or /proc has no smaps_rollup). */
export function processMemory(pid: number | null | undefined): ProcessMemory {
  if (!pid) return none;
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const mb = (kb: number) => Math.round((kb / 1024) * 10) / 10;
    return {
      rssMb: mb(kilobytes(rollup, 'Rss')),
      pssMb: mb(kilobytes(rollup, 'Pss')),
      privateMb: mb(kilobytes(rollup, 'Private_Clean') + kilobytes(rollup, 'Private_Dirty')),
    };
  } catch {
    return none;
  }
}

/** A process and all its descendants now (a postmaster and its backends and workers). */
function processTree(pid: number): number[] {
  const tree = [pid];
  for (let index = 0; index < tree.length; index += 1) {
    const parent = tree[index] as number;
    try {
      const children = readFileSync(`/proc/${parent}/task/${parent}/children`, 'utf8').trim();
      if (children) tree.push(...children.split(' ').map(Number));
    } catch {
      // Gone since it was listed, or a kernel without the children file: its own figure only.
    }
  }
  return tree;
}

/** The memory of a process and its descendants together: RSS summed as a reader would, PSS summed as it is. */
export function treeMemory(pid: number | null | undefined): ProcessMemory {
  if (!pid) return none;
  const all = processTree(pid).map(processMemory);
  const total = (field: keyof ProcessMemory) =>
    Math.round(all.reduce((sum, memory) => sum + memory[field], 0) * 10) / 10;
  return { rssMb: total('rssMb'), pssMb: total('pssMb'), privateMb: total('privateMb') };
}
