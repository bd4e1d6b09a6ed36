/**
 * Where a phase of bench/cdc spent its CPU, per process and per PostgreSQL backend by its part in
 * the path (from /proc; backends told apart by `pg_stat_activity`): the monolith's sessions, the
 * walsender decoding the log for the slot, the capture's outbox and relay, the bus store's publish
 * and claims, and the capture and bench processes themselves.
 */
import pg from 'pg';
import { cpuBetween, type CpuSample, type ProcessLabeller, parentOf, sampleCpu } from '../process-cpu.ts';

export interface CaptureCpuParts {
  adminUrl: string;
  postmasterPid: number | undefined;
  capturePid: number | undefined;
}

interface Backend {
  pid: number;
  datname: string | null;
  backend_type: string;
  application_name: string;
}

const roleOf = (backend: Backend): string => {
  if (backend.backend_type === 'walsender') return 'pg: walsender (decoding for the slot)';
  if (backend.backend_type !== 'client backend') return 'pg: background (wal writer, checkpointer…)';
  if (backend.datname === 'legacy')
    return backend.application_name === 'bench-writer' ? 'pg: monolith writes' : 'pg: monolith, other';
  if (backend.datname === 'legacy_cdc') return "pg: capture's outbox + relay";
  if (backend.datname === 'messages')
    return backend.application_name === 'bench-subscriber' ? 'pg: bus claims + acks' : 'pg: bus publish';
  return 'pg: other';
};

export class CaptureCpu {
  readonly #parts: CaptureCpuParts;
  readonly #roles = new Map<number, string>();
  readonly #admin: pg.Client;
  #connected = false;
  #before: CpuSample | undefined;

  constructor(parts: CaptureCpuParts) {
    this.#parts = parts;
    this.#admin = new pg.Client({ connectionString: parts.adminUrl, application_name: 'bench-meter' });
  }

  async start(): Promise<void> {
    if (!this.#connected) await this.#admin.connect();
    this.#connected = true;
    await this.#readRoles();
    this.#before = sampleCpu(this.#labeller());
  }

  /** CPU ms per part since `start`, largest first (empty where /proc is not there). */
  async stop(): Promise<Array<[string, number]>> {
    const after = sampleCpu(this.#labeller());
    // Backends that started during the phase (a pool growing) are named now; their CPU counts whole.
    await this.#readRoles();
    if (!this.#before || !after) return [];
    return cpuBetween(this.#named(this.#before), this.#named(after));
  }

  async close(): Promise<void> {
    if (this.#connected) await this.#admin.end();
  }

  async #readRoles(): Promise<void> {
    const { rows } = await this.#admin.query<Backend>(
      `SELECT pid, datname, backend_type, coalesce(application_name, '') AS application_name
         FROM pg_stat_activity WHERE pid <> pg_backend_pid()`,
    );
    for (const backend of rows) this.#roles.set(backend.pid, roleOf(backend));
  }

  /** Samples label this run's PostgreSQL processes `postgres`; named by their part once known. */
  #named(sample: CpuSample): CpuSample {
    return new Map(
      [...sample].map(([key, ms]) => {
        const [label = '', pid = ''] = key.split('\u0000');
        const part =
          label === 'postgres' ? (this.#roles.get(Number(pid)) ?? 'pg: background (wal writer, checkpointer…)') : label;
        return [`${part}\u0000${pid}`, ms];
      }),
    );
  }

  #labeller(): ProcessLabeller {
    const { postmasterPid, capturePid } = this.#parts;
    return (pid, command) => {
      if (pid === capturePid) return 'legacy-cdc process';
      if (pid === process.pid) return 'bench process (writers, subscriber)';
      if (command !== 'postgres' || postmasterPid === undefined) return undefined;
      return pid === postmasterPid || parentOf(pid) === postmasterPid ? 'postgres' : undefined;
    };
  }
}
