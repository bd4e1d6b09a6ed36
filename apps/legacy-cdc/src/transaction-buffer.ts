import type { Pgoutput } from 'pg-logical-replication';
import { capturedTableNamed, HEARTBEAT_TABLE } from './captured-tables.ts';
import type { RowChange } from './change-message.ts';

/** One source transaction, gathered from its `begin` to its `commit`. */
export interface SourceTransaction {
  xid: number;
  /** End of its commit record: confirmed to the slot once its changes are in the outbox. */
  endLsn: string;
  commitLsn: string;
  committedAt: Date;
  changes: RowChange[];
  /** Tables in the transaction that are not captured (none, unless the publication was widened). */
  ignored: number;
  truncated: string[];
}

const microsToDate = (micros: bigint): Date => new Date(Number(micros / 1000n));

/**
 * Turns pgoutput's messages into whole transactions (protocol 1 sends a transaction only once it
 * committed, so nothing here is ever rolled back). Returns a transaction on its `commit`.
 */
export class TransactionBuffer {
  #open: { xid: number; changes: RowChange[]; ignored: number; truncated: string[] } | undefined;

  take(message: Pgoutput.Message): SourceTransaction | undefined {
    switch (message.tag) {
      case 'begin':
        this.#open = { xid: message.xid >>> 0, changes: [], ignored: 0, truncated: [] };
        return undefined;
      case 'insert':
      case 'update':
      case 'delete': {
        const open = this.#opened(message.tag);
        if (message.relation.name === HEARTBEAT_TABLE) return undefined;
        const table =
          message.relation.schema === 'public' ? capturedTableNamed(message.relation.name) : undefined;
        if (!table) {
          open.ignored += 1;
          return undefined;
        }
        const row = message.tag === 'delete' ? (message.key ?? message.old ?? {}) : message.new;
        open.changes.push({ table, op: message.tag, row });
        return undefined;
      }
      case 'truncate':
        this.#opened('truncate').truncated.push(...message.relations.map((relation) => relation.name));
        return undefined;
      case 'commit': {
        const open = this.#opened('commit');
        this.#open = undefined;
        if (!message.commitEndLsn || !message.commitLsn) throw new Error('a commit without its LSN');
        return {
          ...open,
          endLsn: message.commitEndLsn,
          commitLsn: message.commitLsn,
          committedAt: microsToDate(message.commitTime as bigint),
        };
      }
      default:
        return undefined; // relation, type, origin, message: the parser keeps what it needs.
    }
  }

  #opened(tag: string) {
    if (!this.#open) throw new Error(`pgoutput sent ${tag} outside a transaction`);
    return this.#open;
  }
}
