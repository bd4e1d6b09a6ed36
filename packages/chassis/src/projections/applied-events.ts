import type { Transaction } from '../db/database.ts';
import type { ReadModelEvent } from './read-model.ts';

/**
 * The ids of the events a generation has applied, in its own schema: what makes a read model
 * idempotent per event. Logs can hold an event twice: a relay that dies between publishing and
 * deleting publishes it again when it restarts, and JetStream drops a repeated `Nats-Msg-Id` only
 * within its duplicate window (120 s). Written in the transaction that applies the batch and moves
 * the checkpoint, so an id is recorded exactly when its event's effect is.
 */
export const APPLIED_EVENTS_TABLE = 'applied_events';

/** The table, in a generation's (quoted) schema; a generation made before it gets it on start. */
export async function createAppliedEvents(transaction: Transaction, schema: string): Promise<void> {
  await transaction.query(
    `CREATE TABLE IF NOT EXISTS ${schema}.${APPLIED_EVENTS_TABLE} (event_id text PRIMARY KEY)`,
  );
}

/**
 * Records the batch's event ids and returns the events seen for the first time, in order: not an
 * event the generation applied before, nor the second copy of one within the batch. One statement
 * per batch.
 */
export async function firstApplications(
  transaction: Transaction,
  schema: string,
  events: readonly ReadModelEvent[],
): Promise<ReadModelEvent[]> {
  if (events.length === 0) return [];
  const { rows } = await transaction.query<{ event_id: string }>(
    `INSERT INTO ${schema}.${APPLIED_EVENTS_TABLE} (event_id) SELECT unnest($1::text[])
     ON CONFLICT DO NOTHING RETURNING event_id`,
    [events.map((event) => event.envelope.event_id)],
  );
  const fresh = new Set(rows.map((row) => row.event_id));
  // Deleting as it goes keeps only the first copy of an id the batch holds twice.
  return events.filter((event) => fresh.delete(event.envelope.event_id));
}
