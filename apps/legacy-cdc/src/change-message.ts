import type { OutboxEntry } from '@mercato/chassis';
import type { Envelope } from '@mercato/contracts';
import type { CapturedTable } from './captured-tables.ts';

export type ChangeOp = 'snapshot' | 'insert' | 'update' | 'delete';

/** One row change as read from the log or the snapshot. */
export interface RowChange {
  table: CapturedTable;
  op: ChangeOp;
  /** The row after the change; for a delete, the key columns only. */
  row: Record<string, unknown>;
}

/** Where a change sits in the monolith's history. */
export interface ChangeSource {
  kind: 'snapshot' | 'stream';
  lsn: string;
  txId: number;
  committedAt: Date;
}

/** A column's value as JSON: timestamps in ISO 8601, bigint ids as decimal strings. */
const jsonRow = (table: CapturedTable, row: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(
    Object.entries(row).map(([column, value]) => [
      column,
      value instanceof Date
        ? value.toISOString()
        : table.ids.includes(column) && value !== null
          ? String(value)
          : value,
    ]),
  );

/**
 * The outbox entry of one change. Its id is derived from its place in the log (`<commit LSN>:<n>`
 * within the transaction, or the snapshot's point and row number), so the same change always carries
 * the same id and a consumer's inbox drops a copy published again after a crash.
 */
export function changeMessage(change: RowChange, source: ChangeSource, index: number): OutboxEntry {
  const { table } = change;
  const key = Object.fromEntries(table.key.map((column) => [column, String(change.row[column])]));
  const envelope: Envelope = {
    event_id: `cdc_${source.kind === 'snapshot' ? 's' : 't'}${source.lsn}:${index}`,
    event_type: table.contract.type,
    event_version: table.contract.version,
    timestamp: source.committedAt.toISOString(),
    source: 'legacy-cdc',
    correlation_id: `cdc_${source.txId}`,
    causation_id: null,
    data: {
      op: change.op,
      key,
      row: change.op === 'delete' ? null : jsonRow(table, change.row),
      source: {
        kind: source.kind,
        lsn: source.lsn,
        tx_id: source.txId,
        committed_at: source.committedAt.toISOString(),
      },
    },
    metadata: {},
  };
  return {
    kind: 'topic',
    destination: table.contract.type,
    key: String(change.row[table.partitionBy]),
    envelope,
  };
}
