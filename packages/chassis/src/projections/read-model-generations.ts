import type { Pool, Transaction } from '../db/database.ts';
import { createAppliedEvents } from './applied-events.ts';
import type { ReadModel } from './read-model.ts';

export type GenerationStatus = 'building' | 'live' | 'standby' | 'dropped';

export interface Generation {
  generation: number;
  schema: string;
  status: GenerationStatus;
  checkpoint: string | null;
  eventsApplied: number;
  rejected: number;
  startedAt: Date;
  appliedAt: Date | null;
  switchedAt: Date | null;
  comparedRows: number | null;
  differences: number | null;
}

interface GenerationRow {
  generation: number;
  schema_name: string;
  status: GenerationStatus;
  checkpoint: string | null;
  events_applied: string;
  rejected: string;
  started_at: Date;
  applied_at: Date | null;
  switched_at: Date | null;
  compared_rows: string | null;
  differences: string | null;
}

const toGeneration = (row: GenerationRow): Generation => ({
  generation: row.generation,
  schema: row.schema_name,
  status: row.status,
  checkpoint: row.checkpoint,
  eventsApplied: Number(row.events_applied),
  rejected: Number(row.rejected),
  startedAt: row.started_at,
  appliedAt: row.applied_at,
  switchedAt: row.switched_at,
  comparedRows: row.compared_rows === null ? null : Number(row.compared_rows),
  differences: row.differences === null ? null : Number(row.differences),
});

const COLUMNS = `generation, schema_name, status, checkpoint, events_applied, rejected, started_at,
  applied_at, switched_at, compared_rows, differences`;

/** A PostgreSQL identifier, quoted for SQL (schema names of generations). */
export const quote = (identifier: string) => `"${identifier.replaceAll('"', '""')}"`;

/** The bookkeeping of a read model's copies: which is live, which is building, where each stands. */
export class ReadModelGenerations {
  readonly #model: ReadModel;

  constructor(model: ReadModel) {
    if (!/^[a-z][a-z0-9_]{0,40}$/.test(model.name))
      throw new Error(`read model name ${model.name} is not usable`);
    this.#model = model;
  }

  async list(pool: Pool | Transaction): Promise<Generation[]> {
    const { rows } = await pool.query<GenerationRow>(
      `SELECT ${COLUMNS} FROM read_model_generations WHERE status <> 'dropped' ORDER BY generation`,
    );
    return rows.map(toGeneration);
  }

  /**
   * Locks the generation while a batch is applied to it; undefined when another holds it or it is
   * gone. `asyncCommit`: the transaction also commits without waiting for the WAL flush
   * (`synchronous_commit = off` for it alone), set by the same statement rather than one more.
   */
  async lock(
    transaction: Transaction,
    generation: number,
    { wait = false, asyncCommit = false } = {},
  ): Promise<Generation | undefined> {
    const { rows } = await transaction.query<GenerationRow>(
      `SELECT ${COLUMNS}${asyncCommit ? ", set_config('synchronous_commit', 'off', true) AS commit_mode" : ''}
         FROM read_model_generations
        WHERE generation = $1 AND status IN ('live', 'building') FOR UPDATE ${wait ? '' : 'SKIP LOCKED'}`,
      [generation],
    );
    return rows[0] ? toGeneration(rows[0]) : undefined;
  }

  async advance(
    transaction: Transaction,
    generation: number,
    change: { checkpoint: string; applied: number; rejected: number },
  ): Promise<void> {
    await transaction.query(
      `UPDATE read_model_generations
          SET checkpoint = $2, events_applied = events_applied + $3, rejected = rejected + $4, applied_at = now()
        WHERE generation = $1`,
      [generation, change.checkpoint, change.applied, change.rejected],
    );
  }

  /** A new, empty generation: its schema and tables. The first one is live at once. */
  async create(transaction: Transaction, status: 'live' | 'building'): Promise<Generation> {
    const { rows } = await transaction.query<{ next: number }>(
      'SELECT coalesce(max(generation), 0) + 1 AS next FROM read_model_generations',
    );
    const generation = rows[0]?.next ?? 1;
    const schema = `${this.#model.name}_g${generation}`;
    await transaction.query(`DROP SCHEMA IF EXISTS ${quote(schema)} CASCADE`);
    await transaction.query(`CREATE SCHEMA ${quote(schema)}`);
    await this.#model.createTables(transaction, quote(schema));
    await createAppliedEvents(transaction, quote(schema));
    await transaction.query(
      'INSERT INTO read_model_generations (generation, schema_name, status) VALUES ($1, $2, $3)',
      [generation, schema, status],
    );
    if (status === 'live') await this.pointViewsAt(transaction, schema);
    const created = await this.lock(transaction, generation, { wait: true });
    if (!created) throw new Error(`generation ${generation} vanished while being created`);
    return created;
  }

  /**
   * Readers query `public.<table>`: one view per table over the live generation's schema. Replaced
   * in place, so a query waiting on the switch reads the new copy once it commits; dropping and
   * creating the view instead would fail such a query (its relation gone). Only a view whose
   * columns changed (a new release's tables) is dropped and created.
   */
  async pointViewsAt(transaction: Transaction, schema: string): Promise<void> {
    for (const table of this.#model.tables) {
      const view = `public.${quote(table)}`;
      const definition = `AS SELECT * FROM ${quote(schema)}.${quote(table)}`;
      await transaction.query('SAVEPOINT replace_view');
      try {
        await transaction.query(`CREATE OR REPLACE VIEW ${view} ${definition}`);
        await transaction.query('RELEASE SAVEPOINT replace_view');
      } catch {
        await transaction.query('ROLLBACK TO SAVEPOINT replace_view');
        await transaction.query(`DROP VIEW IF EXISTS ${view}`);
        await transaction.query(`CREATE VIEW ${view} ${definition}`);
      }
    }
  }

  /** Rows of `next` and how many differ from `live`'s, table by table, counting duplicates. */
  async compare(
    transaction: Transaction,
    live: string,
    next: string,
  ): Promise<{ rows: number; differences: number }> {
    let rows = 0;
    let differences = 0;
    for (const table of this.#model.tables) {
      const a = `${quote(live)}.${quote(table)}`;
      const b = `${quote(next)}.${quote(table)}`;
      const { rows: result } = await transaction.query<{ rows: string; differences: string }>(
        `SELECT (SELECT count(*) FROM ${b}) AS rows,
                (SELECT count(*) FROM (TABLE ${a} EXCEPT ALL TABLE ${b}) only_live)
              + (SELECT count(*) FROM (TABLE ${b} EXCEPT ALL TABLE ${a}) only_next) AS differences`,
      );
      rows += Number(result[0]?.rows ?? 0);
      differences += Number(result[0]?.differences ?? 0);
    }
    return { rows, differences };
  }

  /** Makes `next` live and `live` its standby; the standby before it is dropped. */
  async switchTo(
    transaction: Transaction,
    live: Generation,
    next: Generation,
    comparison: { rows: number; differences: number },
  ): Promise<void> {
    const { rows: old } = await transaction.query<{ schema_name: string }>(
      `UPDATE read_model_generations SET status = 'dropped' WHERE status = 'standby' RETURNING schema_name`,
    );
    for (const { schema_name } of old)
      await transaction.query(`DROP SCHEMA IF EXISTS ${quote(schema_name)} CASCADE`);
    await transaction.query(`UPDATE read_model_generations SET status = 'standby' WHERE generation = $1`, [
      live.generation,
    ]);
    await transaction.query(
      `UPDATE read_model_generations SET status = 'live', switched_at = now(), compared_rows = $2, differences = $3
        WHERE generation = $1`,
      [next.generation, comparison.rows, comparison.differences],
    );
    await this.pointViewsAt(transaction, next.schema);
  }

  async reject(
    transaction: Transaction,
    generation: number,
    rejected: { position: string; envelope: unknown; reason: string },
  ): Promise<void> {
    const envelope = rejected.envelope as { event_id?: unknown; event_type?: unknown } | null;
    await transaction.query(
      `INSERT INTO read_model_rejects (generation, position, event_id, event_type, reason, envelope)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
      [
        generation,
        rejected.position,
        typeof envelope?.event_id === 'string' ? envelope.event_id : null,
        typeof envelope?.event_type === 'string' ? envelope.event_type : null,
        rejected.reason,
        JSON.stringify(rejected.envelope),
      ],
    );
  }
}
