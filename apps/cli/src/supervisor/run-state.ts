import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface RunState {
  supervisor_pid: number;
  started_at: string;
  /** The supervisor's own API (process control, traces, logs), admin only. */
  supervisor: { url: string };
  postgres: { mode: 'embedded' | 'external'; pid: number | null; port: number };
  /** By process name: a service's first instance has its name, further ones `<service>-<n>`. */
  services: Record<
    string,
    {
      service: string;
      /** `<label>@<hash>` of what it runs (`current@…`: the working tree's build). */
      version: string;
      pid: number | null;
      url: string;
      grpc: string | null;
      database: string | null;
    }
  >;
}

/** `<dataDir>/run/state.json`: what runs now, for tools and tests (pids, ports, URLs). */
export const runStatePath = (dataDir: string): string => path.join(dataDir, 'run', 'state.json');

export async function writeRunState(dataDir: string, state: RunState): Promise<void> {
  const file = runStatePath(dataDir);
  await mkdir(path.dirname(file), { recursive: true });
  // Write then rename, so a reader never sees half a file.
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(state, null, 2)}\n`);
  await rename(temporary, file);
}

export const clearRunState = (dataDir: string): Promise<void> => rm(runStatePath(dataDir), { force: true });
