import { inTransaction, type Outbox, type Pool } from '@mercato/chassis';
import pg from 'pg';
import { capturedTables } from './captured-tables.ts';
import type { CdcPositions } from './cdc-position.ts';
import { type ChangeSource, changeMessage } from './change-message.ts';
import type { ExportedSlot } from './source-database.ts';

export interface SnapshotSettings {
  source: pg.ClientConfig;
  slot: string;
  fetchSize: number;
}

const quoted = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * Reads every captured table in the slot's exported snapshot and writes each row as a `snapshot`
 * change to the outbox, with the position, in one transaction of this process's database: a crash
 * part-way leaves nothing behind, and the next start drops the slot and begins again. Returns the
 * number of rows.
 */
export async function takeInitialSnapshot(
  exported: ExportedSlot,
  settings: SnapshotSettings,
  target: { pool: Pool; outbox: Outbox; positions: CdcPositions },
): Promise<number> {
  const reader = new pg.Client(settings.source);
  await reader.connect();
  try {
    await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await reader.query(`SET TRANSACTION SNAPSHOT '${exported.snapshotName.replaceAll("'", "''")}'`);
    const { rows } = await reader.query<{ xmin: string; now: Date }>(
      'SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin, now() AS now',
    );
    const source: ChangeSource = {
      kind: 'snapshot',
      lsn: exported.consistentPoint,
      txId: Number(rows[0]?.xmin ?? 0) % 2 ** 32,
      committedAt: rows[0]?.now ?? new Date(),
    };
    return await inTransaction(target.pool, async (tx) => {
      let index = 0;
      for (const table of capturedTables) {
        await reader.query(
          `DECLARE snapshot_rows NO SCROLL CURSOR FOR SELECT * FROM ${quoted(table.name)} ORDER BY ${table.key.map(quoted).join(', ')}`,
        );
        for (;;) {
          const batch = await reader.query<Record<string, unknown>>(
            `FETCH ${settings.fetchSize} FROM snapshot_rows`,
          );
          if (batch.rows.length === 0) break;
          const entries = batch.rows.map((row) =>
            changeMessage({ table, op: 'snapshot', row }, source, index++),
          );
          await target.outbox.append(tx, entries);
        }
        await reader.query('CLOSE snapshot_rows');
      }
      await target.positions.snapshotTaken(tx, settings.slot, exported.consistentPoint, index);
      return index;
    });
  } finally {
    await reader.query('COMMIT').catch(() => undefined);
    await reader.end().catch(() => undefined);
  }
}
