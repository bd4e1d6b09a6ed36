import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const repositoryRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface PlatformPorts {
  postgres: number;
  gateway: number;
  base: number;
}

export interface RunState {
  supervisor_pid: number;
  postgres: { pid: number | null; port: number };
  services: Record<string, { pid: number | null; url: string; database: string | null }>;
}

export type LogLine = Record<string, unknown>;

/** `npm start` as a real process tree, with its merged output captured for assertions. */
export class PlatformProcess {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  readonly dataDir: string;
  readonly #waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];

  constructor(dataDir: string, ports: PlatformPorts, extraEnv: Record<string, string> = {}) {
    this.dataDir = dataDir;
    this.child = spawn(process.execPath, ['--import', 'tsx', 'apps/cli/src/main.ts', 'start'], {
      cwd: repositoryRoot,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/root',
        MERCATO_DATA_DIR: dataDir,
        MERCATO_PG_PORT: String(ports.postgres),
        MERCATO_GATEWAY_PORT: String(ports.gateway),
        MERCATO_PORT_BASE: String(ports.base),
        ...extraEnv,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collect = (line: string) => {
      this.lines.push(line);
      for (const waiter of [...this.#waiters]) {
        if (waiter.pattern.test(line)) {
          this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    };
    createInterface({ input: this.child.stdout as NodeJS.ReadableStream }).on('line', collect);
    createInterface({ input: this.child.stderr as NodeJS.ReadableStream }).on('line', collect);
  }

  /** Resolves with the first output line (already seen or future) that matches. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<string> {
    const seen = this.lines.find((line) => pattern.test(line));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(
            `no line matching ${pattern} within ${timeoutMs} ms; last lines:\n${this.lines.slice(-15).join('\n')}`,
          ),
        );
      }, timeoutMs);
      this.#waiters.push({
        pattern,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
    });
  }

  jsonLines(): LogLine[] {
    return this.lines.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as LogLine);
  }

  async state(): Promise<RunState> {
    return JSON.parse(await readFile(path.join(this.dataDir, 'run', 'state.json'), 'utf8')) as RunState;
  }

  exited(): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null)
      return Promise.resolve(this.child.exitCode);
    return new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }
}

export const isAlive = (pid: number | null | undefined): boolean => {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Polls until `condition` holds; returns how long it took, or throws after `timeoutMs`. */
export async function eventually(
  what: string,
  condition: () => Promise<boolean> | boolean,
  timeoutMs: number,
): Promise<number> {
  const began = Date.now();
  while (Date.now() - began < timeoutMs) {
    if (await condition()) return Date.now() - began;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} did not happen within ${timeoutMs} ms`);
}
