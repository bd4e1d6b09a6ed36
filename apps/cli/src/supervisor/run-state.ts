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

export const writeRunState = (dataDir: string, state: RunState): Promise<void> =>
  writeFileAtomically(runStatePath(dataDir), `${JSON.stringify(state, null, 2)}\n`);

/** Writes then renames, so a reader never sees half a file; makes the folder when missing. */
export async function writeFileAtomically(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, text);
  await rename(temporary, file);
}

export const clearRunState = (dataDir: string): Promise<void> => rm(runStatePath(dataDir), { force: true });
