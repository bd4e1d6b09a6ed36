import pg from 'pg';
import { capturedTables, HEARTBEAT_TABLE } from './captured-tables.ts';

/** A problem with the monolith's database that no retry fixes: stops the process with one line. */
export class SourceSetupError extends Error {
  override name = 'SourceSetupError';
}

export interface ExportedSlot {
  /** The slot's consistent point: the snapshot holds every transaction committed before it. */
  consistentPoint: string;
  /** Valid while `replication` stays open and idle: `SET TRANSACTION SNAPSHOT` imports it. */
  snapshotName: string;
  replication: pg.Client;
}

const quoted = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * The monolith's database as change data capture needs it: `wal_level=logical`, a login allowed to
 * replicate, a heartbeat table, and a publication of the captured tables. Idempotent: run at every
 * start. Throws `SourceSetupError` naming what is missing.
 */
export async function prepareSource(client: pg.Client, publication: string): Promise<void> {
  const { rows } = await client.query<{ wal_level: string; replication: boolean; server: string }>(
    `SELECT current_setting('wal_level') AS wal_level, current_setting('server_version') AS server,
            (SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user) AS replication`,
  );
  const settings = rows[0];
  if (settings?.wal_level !== 'logical')
    throw new SourceSetupError(
      `LEGACY_DATABASE_URL's server has wal_level=${settings?.wal_level}; change data capture needs wal_level=logical (ALTER SYSTEM SET wal_level = logical, then restart PostgreSQL)`,
    );
  if (!settings.replication)
    throw new SourceSetupError(
      `LEGACY_DATABASE_URL's login ${client.user ?? ''} may not replicate: ALTER ROLE … REPLICATION (or use one that may)`,
    );
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${HEARTBEAT_TABLE} (id integer PRIMARY KEY, beat_at timestamptz NOT NULL)`,
  );
  const tables = [...capturedTables.map((table) => table.name), HEARTBEAT_TABLE];
  const missing = await client.query<{ name: string }>(
    'SELECT name FROM unnest($1::text[]) AS name WHERE to_regclass(name) IS NULL',
    [tables],
  );
  if (missing.rows.length > 0)
    throw new SourceSetupError(
      `LEGACY_DATABASE_URL's database has no table ${missing.rows.map((row) => row.name).join(', ')}: is it the monolith's (apps/legacy) database?`,
    );
  const existing = await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [publication]);
  const list = tables.map(quoted).join(', ');
  // Creating or altering a publication needs to own the tables: the monolith's own login does.
  if (existing.rows.length === 0)
    await client.query(`CREATE PUBLICATION ${quoted(publication)} FOR TABLE ${list}`);
  else await client.query(`ALTER PUBLICATION ${quoted(publication)} SET TABLE ${list}`);
}

/** Whether the slot exists; throws when it does but the server has dropped the log it needs. */
export async function slotExists(client: pg.Client, slot: string): Promise<boolean> {
  const { rows } = await client.query<{ wal_status: string | null }>(
    'SELECT wal_status FROM pg_replication_slots WHERE slot_name = $1',
    [slot],
  );
  if (rows[0]?.wal_status === 'lost')
    throw new SourceSetupError(
      `replication slot ${slot} lost the log it needed (its reader was away past max_slot_wal_keep_size): drop the slot and this process's position to take a new snapshot`,
    );
  return rows.length > 0;
}

export async function dropSlot(client: pg.Client, slot: string): Promise<void> {
  await client.query(
    'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1',
    [slot],
  );
}

/**
 * Creates the slot over a replication connection and exports its snapshot (Debezium's initial
 * snapshot): reading the tables in that snapshot and then streaming from the consistent point sees
 * every change exactly once. The caller ends `replication` once the snapshot is read.
 */
export async function createSlotWithSnapshot(config: pg.ClientConfig, slot: string): Promise<ExportedSlot> {
  const replication = new pg.Client({ ...config, replication: 'database' } as pg.ClientConfig);
  await replication.connect();
  try {
    const { rows } = await replication.query<{ consistent_point: string; snapshot_name: string }>(
      `CREATE_REPLICATION_SLOT ${quoted(slot)} LOGICAL pgoutput (SNAPSHOT 'export')`,
    );
    const created = rows[0];
    if (!created) throw new Error('CREATE_REPLICATION_SLOT returned no row');
    return { consistentPoint: created.consistent_point, snapshotName: created.snapshot_name, replication };
  } catch (error) {
    await replication.end().catch(() => undefined);
    throw error;
  }
}

/** Bytes of log the slot keeps the server from recycling (what a stuck or idle slot costs). */
export async function retainedWalBytes(client: pg.Client, slot: string): Promise<number | undefined> {
  const { rows } = await client.query<{ retained: string | null }>(
    `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::text AS retained
     FROM pg_replication_slots WHERE slot_name = $1`,
    [slot],
  );
  const retained = rows[0]?.retained;
  return retained === undefined || retained === null ? undefined : Number(retained);
}

export async function beat(client: pg.Client, at: Date): Promise<void> {
  await client.query(
    `INSERT INTO ${HEARTBEAT_TABLE} (id, beat_at) VALUES (1, $1)
     ON CONFLICT (id) DO UPDATE SET beat_at = excluded.beat_at`,
    [at],
  );
}
