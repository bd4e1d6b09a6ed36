import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProcessUnderTest } from '@mercato/chassis/testing';

export { isAlive } from '@mercato/chassis/testing';

import pg from 'pg';

export const repositoryRoot = fileURLToPath(new URL('../..', import.meta.url));
/** The `mercato` command, relative to the repository root (its launcher runs the CLI's bundle). */
export const MERCATO_CLI = 'apps/cli/bin/mercato.mjs';

export interface PlatformPorts {
  postgres: number;
  gateway: number;
  base: number;
  grpcBase: number;
}

export interface RunState {
  supervisor_pid: number;
  supervisor: { url: string };
  postgres: { pid: number | null; port: number };
  /** By process name: `catalog`, and `catalog-2`… for further instances (MERCATO_REPLICAS). */
  services: Record<
    string,
    { service: string; pid: number | null; url: string; grpc: string | null; database: string | null }
  >;
}

export type LogLine = Record<string, unknown>;

/** One instance as the supervisor's registry lists it (`GET /admin/registry`). */
export interface RegisteredInstance {
  instance: string;
  http: string;
  grpc: string | null;
  canary: boolean;
  version: string;
  ready: boolean;
  weight: number;
  /** `standby`: the colour a blue-green release switched away from. */
  role: 'active' | 'standby';
}

/** `npm start` as a real process tree, with its merged output captured for assertions. */
export class PlatformProcess extends ProcessUnderTest {
  readonly dataDir: string;

  constructor(dataDir: string, ports: PlatformPorts, extraEnv: Record<string, string> = {}) {
    super([MERCATO_CLI, 'start'], {
      cwd: repositoryRoot,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/root',
        MERCATO_DATA_DIR: dataDir,
        MERCATO_PG_PORT: String(ports.postgres),
        MERCATO_GATEWAY_PORT: String(ports.gateway),
        MERCATO_PORT_BASE: String(ports.base),
        MERCATO_GRPC_PORT_BASE: String(ports.grpcBase),
        ...extraEnv,
      },
    });
    this.dataDir = dataDir;
  }

  jsonLines(): LogLine[] {
    return this.lines.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as LogLine);
  }

  async state(): Promise<RunState> {
    return JSON.parse(await readFile(path.join(this.dataDir, 'run', 'state.json'), 'utf8')) as RunState;
  }

  /** Every pid the run has now: the supervisor's and each service instance's. */
  async pids(): Promise<number[]> {
    const state = await this.state();
    return [
      state.supervisor_pid,
      ...Object.values(state.services).flatMap((entry) => (entry.pid ? [entry.pid] : [])),
    ];
  }

  /** `GET /admin/<path>` of the supervisor's API, with the run's admin token. */
  async admin<T>(adminPath: string): Promise<T> {
    const token = (await readFile(path.join(this.dataDir, 'run', 'admin-token'), 'utf8')).trim();
    const response = await fetch(`${(await this.state()).supervisor.url}/admin/${adminPath}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return (await response.json()) as T;
  }

  /** The instances of `service` in the supervisor's registry. */
  async registry(service: string): Promise<RegisteredInstance[]> {
    const { services } = await this.admin<{ services: Record<string, RegisteredInstance[]> }>('registry');
    return services[service] ?? [];
  }
}

/** A connected client of the embedded PostgreSQL as its superuser (password in the data directory). */
export async function superuserClient(
  dataDir: string,
  port: number,
  database = 'postgres',
): Promise<pg.Client> {
  const password = (await readFile(path.join(dataDir, 'postgres-superuser'), 'utf8')).trim();
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database });
  await client.connect();
  return client;
}
