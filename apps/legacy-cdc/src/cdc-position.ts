import type { Pool, Transaction } from '@mercato/chassis';

export interface CdcPosition {
  snapshotLsn: string;
  snapshotRows: number;
  /** End of the last transaction whose changes are in the outbox. */
  lsn: string;
}

interface PositionRow {
  snapshot_lsn: string;
  snapshot_rows: string;
  lsn: string;
}

/** Where the change stream stands, kept in this process's database beside its outbox. */
export class CdcPositions {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async read(slot: string): Promise<CdcPosition | undefined> {
    const { rows } = await this.#pool.query<PositionRow>(
      'SELECT snapshot_lsn::text, snapshot_rows::text, lsn::text FROM cdc_position WHERE slot = $1',
      [slot],
    );
    const row = rows[0];
    return row && { snapshotLsn: row.snapshot_lsn, snapshotRows: Number(row.snapshot_rows), lsn: row.lsn };
  }

  /** Recorded in the transaction that wrote the snapshot's rows to the outbox. */
  async snapshotTaken(tx: Transaction, slot: string, lsn: string, rows: number): Promise<void> {
    await tx.query(
      `INSERT INTO cdc_position (slot, snapshot_lsn, snapshot_rows, lsn) VALUES ($1, $2, $3, $2)
       ON CONFLICT (slot) DO UPDATE SET snapshot_lsn = $2, snapshot_rows = $3, lsn = $2, committed_at = NULL,
         updated_at = now()`,
      [slot, lsn, rows],
    );
  }

  /** Recorded in the transaction that wrote a source transaction's changes to the outbox. */
  async advanced(tx: Transaction, slot: string, lsn: string, committedAt: Date): Promise<void> {
    await tx.query(
      'UPDATE cdc_position SET lsn = $2, committed_at = $3, updated_at = now() WHERE slot = $1',
      [slot, lsn, committedAt],
    );
  }

  /** Forgets the slot (the monolith retired): the next start would snapshot again. */
  async forget(slot: string): Promise<void> {
    await this.#pool.query('DELETE FROM cdc_position WHERE slot = $1', [slot]);
  }
}
