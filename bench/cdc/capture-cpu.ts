/**
 * Where a phase of bench/cdc spent its CPU, per process and per PostgreSQL backend by its part in
 * the path (from /proc; backends told apart by `pg_stat_activity`): the monolith's sessions, the
 * walsender decoding the log for the slot, the capture's outbox and relay, the bus store's publish
 * and claims, and the capture and bench processes themselves.
 */
import pg from 'pg';
import {
  type CpuSample,
  cpuBetween,
  cpuOfEndedChildren,
  type ProcessLabeller,
  parentOf,
  sampleCpu,
} from '../process-cpu.ts';

export interface CaptureCpuParts {
  adminUrl: string;
  postmasterPid: number | undefined;
  capturePid?: number | undefined;
  consumerPid?: number | undefined;
}

interface Backend {
  pid: number;
  datname: string | null;
  backend_type: string;
  application_name: string;
}

/** Which side of the path a part is on: the monolith's writes, the capture, the consumer, the server. */
export type Side = 'monolith' | 'capture' | 'consumer' | 'server';

/** Every part a phase's CPU is told apart into, in the order printed. */
export const PARTS = {
  writers: { label: 'bench writers (node)', side: 'monolith' },
  monolithWrites: { label: "pg: monolith, the writers' sessions", side: 'monolith' },
  capture: { label: 'legacy-cdc (node)', side: 'capture' },
  walsender: { label: 'pg: walsender (decoding for the slot)', side: 'capture' },
  heartbeat: { label: "pg: monolith, the capture's sessions", side: 'capture' },
  outbox: { label: "pg: capture's outbox + relay", side: 'capture' },
  publish: { label: 'pg: bus publish', side: 'capture' },
  ended: { label: 'pg: sessions that ended (short-lived)', side: 'capture' },
  consumer: { label: 'bench consumer (node)', side: 'consumer' },
  claims: { label: 'pg: bus claims + acks', side: 'consumer' },
  background: { label: 'pg: background (wal writer, checkpointer…)', side: 'server' },
  other: { label: 'pg: other sessions', side: 'server' },
} as const satisfies Record<string, { label: string; side: Side }>;

export const sideOf = (label: string): Side | undefined =>
  Object.values(PARTS).find((part) => part.label === label)?.side;

const roleOf = (backend: Backend): string => {
  if (backend.backend_type === 'walsender') return PARTS.walsender.label;
  if (backend.backend_type !== 'client backend') return PARTS.background.label;
  if (backend.datname === 'legacy')
    return backend.application_name === 'bench-writer' ? PARTS.monolithWrites.label : PARTS.heartbeat.label;
  if (backend.datname === 'legacy_cdc') return PARTS.outbox.label;
  if (backend.datname === 'messages')
    return backend.application_name === 'bench-subscriber' ? PARTS.claims.label : PARTS.publish.label;
  return PARTS.other.label;
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
    this.#before = this.#sample();
  }

  /** CPU ms per part since `start`, largest first (empty where /proc is not there). */
  async stop(): Promise<Array<[string, number]>> {
    const after = this.#sample();
    // Backends that started during the phase (a pool growing) are named now; their CPU counts whole.
    await this.#readRoles();
    if (!this.#before || !after) return [];
    return cpuBetween(this.#named(this.#before), this.#named(after));
  }

  /**
   * Transactions committed or rolled back so far per database of the run, as `pg_stat_database`
   * has them: what backends have reported (see `PhaseRig.settleMs` for when they do).
   */
  async transactions(): Promise<Map<string, number>> {
    const { rows } = await this.#admin.query<{ datname: string; n: string }>(
      `SELECT datname, (xact_commit + xact_rollback)::text AS n FROM pg_stat_database
        WHERE datname IN ('legacy', 'legacy_cdc', 'messages')`,
    );
    return new Map(rows.map((row) => [row.datname, Number(row.n)]));
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

  #sample(): CpuSample | undefined {
    const sample = sampleCpu(this.#labeller());
    const { postmasterPid } = this.#parts;
    if (sample && postmasterPid !== undefined)
      sample.set(`${PARTS.ended.label}\u0000${postmasterPid}`, cpuOfEndedChildren(postmasterPid));
    return sample;
  }

  /** Samples label this run's PostgreSQL processes `postgres`; named by their part once known. */
  #named(sample: CpuSample): CpuSample {
    return new Map(
      [...sample].map(([key, ms]) => {
        const [label = '', pid = ''] = key.split('\u0000');
        const part = label === 'postgres' ? (this.#roles.get(Number(pid)) ?? PARTS.background.label) : label;
        return [`${part}\u0000${pid}`, ms];
      }),
    );
  }

  #labeller(): ProcessLabeller {
    const { postmasterPid, capturePid, consumerPid } = this.#parts;
    return (pid, command) => {
      if (pid === capturePid) return PARTS.capture.label;
      if (pid === consumerPid) return PARTS.consumer.label;
      if (pid === process.pid) return PARTS.writers.label;
      if (command !== 'postgres' || postmasterPid === undefined) return undefined;
      return pid === postmasterPid || parentOf(pid) === postmasterPid ? 'postgres' : undefined;
    };
  }
}
