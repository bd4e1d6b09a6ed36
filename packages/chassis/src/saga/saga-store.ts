import type { Pool, Transaction } from '../db/database.ts';
import type { StatementPart } from '../db/statement-part.ts';
import type { SagaInput, SagaState, Transition } from './saga-state.ts';

/** A saga's row as the runner reads it. */
export interface SagaRow<Data> {
  state: SagaState<Data>;
  saga_type: string;
  correlation_id: string;
  deadline: Date | null;
  pending_request_id: string | null;
  created_at: Date;
  updated_at: Date;
  timer_failures: number;
  timer_error: string | null;
}

export interface SagaLogEntry {
  at: Date;
  input: string;
  requestId: string | null;
  outcome: string;
  status: string;
  detail: unknown;
}

const COLUMNS =
  'state, saga_type, correlation_id, deadline, pending_request_id, created_at, updated_at, timer_failures, timer_error';

/**
 * Sagas in PostgreSQL (`saga_instances`, `saga_log`): one row per saga with its whole state as JSON
 * and the deadline of the request it waits on (its durable timer), and a log of every input it met.
 * A stored transition and its log row are one statement (one round trip).
 */
export class SagaStore {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  /** Stores a new saga; false when one with that id exists already. */
  async insert<Data>(
    transaction: Transaction,
    saga: { type: string; correlationId: string },
    transition: Transition<Data>,
  ): Promise<boolean> {
    const { state } = transition;
    const { rowCount } = await transaction.query(
      `WITH stored AS (
         INSERT INTO saga_instances (saga_id, saga_type, status, state, pending_request_id, deadline, correlation_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (saga_id) DO NOTHING RETURNING saga_id)
       ${logFrom('stored', '$3', '$8', '$9', '$10')}`,
      [
        state.sagaId,
        saga.type,
        state.status,
        JSON.stringify(state),
        state.pending?.requestId ?? null,
        deadlineOf(state),
        saga.correlationId,
        'start',
        null,
        JSON.stringify(logDetail(transition)),
      ],
    );
    return rowCount !== 0;
  }

  /**
   * Locks a saga's row until the transaction ends and returns it; `skipLocked`: undefined at once
   * when another transaction holds it.
   */
  async lock<Data>(
    transaction: Transaction,
    sagaId: string,
    { skipLocked = false } = {},
  ): Promise<SagaRow<Data> | undefined> {
    const { rows } = await transaction.query<SagaRow<Data>>(
      `SELECT ${COLUMNS} FROM saga_instances WHERE saga_id = $1 FOR UPDATE${skipLocked ? ' SKIP LOCKED' : ''}`,
      [sagaId],
    );
    return rows[0];
  }

  /**
   * An applied transition with its log row, as CTEs for a statement of the caller's (the runner's or
   * its service's outbox append); a saga that moves has no failing timer.
   */
  updatePart<Data>(transition: Transition<Data>, input: SagaInput): StatementPart {
    const { state } = transition;
    return {
      sql: (param) => `saga_stored AS (
         UPDATE saga_instances SET status = ${param(state.status)}, state = ${param(JSON.stringify(state))},
                pending_request_id = ${param(state.pending?.requestId ?? null)}, deadline = ${param(deadlineOf(state))},
                updated_at = now(), timer_failures = 0, timer_error = NULL
          WHERE saga_id = ${param(state.sagaId)} RETURNING saga_id, status),
       saga_logged AS (${logFrom(
         'saga_stored',
         'status',
         param(input.type),
         param('requestId' in input ? input.requestId : null),
         param(JSON.stringify(logDetail(transition))),
       )})`,
    };
  }

  /** Logs an input that changed nothing (stale, duplicate, …), with what it carried. */
  async logIgnored<Data>(
    transaction: Transaction,
    state: SagaState<Data>,
    input: SagaInput,
    why: string,
  ): Promise<void> {
    const detail = {
      ...(input.type === 'reply' ? { success: input.success } : {}),
      ...(input.type === 'reply' && !input.success ? { reason: input.reason } : {}),
    };
    await transaction.query(
      `INSERT INTO saga_log (saga_id, input, request_id, outcome, status, detail) VALUES ($1, $2, $3, $4, $5, $6)`,
      [
        state.sagaId,
        input.type,
        'requestId' in input ? input.requestId : null,
        `ignored: ${why}`,
        state.status,
        JSON.stringify(detail),
      ],
    );
  }

  async stateOf<Data>(transaction: Transaction, sagaId: string): Promise<SagaState<Data> | undefined> {
    const { rows } = await transaction.query<{ state: SagaState<Data> }>(
      'SELECT state FROM saga_instances WHERE saga_id = $1',
      [sagaId],
    );
    return rows[0]?.state;
  }

  async get<Data>(sagaId: string): Promise<SagaRow<Data> | undefined> {
    const { rows } = await this.#pool.query<SagaRow<Data>>(
      `SELECT ${COLUMNS} FROM saga_instances WHERE saga_id = $1`,
      [sagaId],
    );
    return rows[0];
  }

  async history(sagaId: string): Promise<SagaLogEntry[]> {
    const { rows } = await this.#pool.query<{
      at: Date;
      input: string;
      request_id: string | null;
      outcome: string;
      status: string;
      detail: unknown;
    }>('SELECT at, input, request_id, outcome, status, detail FROM saga_log WHERE saga_id = $1 ORDER BY id', [
      sagaId,
    ]);
    return rows.map((row) => ({
      at: row.at,
      input: row.input,
      requestId: row.request_id,
      outcome: row.outcome,
      status: row.status,
      detail: row.detail,
    }));
  }

  /** The sagas of a type whose timer is due, soonest first. */
  async due(type: string, now: Date, limit: number): Promise<string[]> {
    const { rows } = await this.#pool.query<{ saga_id: string }>(
      `SELECT saga_id FROM saga_instances WHERE deadline <= $1 AND saga_type = $2 ORDER BY deadline LIMIT $3`,
      [now, type, limit],
    );
    return rows.map((row) => row.saga_id);
  }

  /** The earliest deadline of this type's sagas (null: none waits on a timer). */
  async nextDeadline(type: string): Promise<Date | null> {
    const { rows } = await this.#pool.query<{ deadline: Date }>(
      `SELECT deadline FROM saga_instances WHERE deadline IS NOT NULL AND saga_type = $1 ORDER BY deadline LIMIT 1`,
      [type],
    );
    return rows[0]?.deadline ?? null;
  }

  /** Makes a stuck saga's timer due now; false when the saga is not stuck. */
  async dueNowIfStuck(sagaId: string, type: string, now: Date): Promise<boolean> {
    const { rowCount } = await this.#pool.query(
      `UPDATE saga_instances SET deadline = $3 WHERE saga_id = $1 AND saga_type = $2 AND status = 'stuck'`,
      [sagaId, type, now],
    );
    return rowCount === 1;
  }

  /**
   * Counts a timeout whose transition threw, keeps the error, and pushes the timer back (1 s,
   * doubling to a minute) so the saga is not retried on every tick. Returns the count.
   */
  async timerFailed(sagaId: string, error: string, now: Date): Promise<number | undefined> {
    const { rows } = await this.#pool.query<{ timer_failures: number }>(
      `UPDATE saga_instances
          SET timer_failures = timer_failures + 1, timer_error = $2,
              deadline = $3::timestamptz + least(interval '1 second' * 2 ^ timer_failures, interval '60 seconds')
        WHERE saga_id = $1 RETURNING timer_failures`,
      [sagaId, error.slice(0, 1_000), now],
    );
    return rows[0]?.timer_failures;
  }
}

/**
 * The log row of an applied transition, written by the statement that stores the state: `INSERT …
 * SELECT` from the CTE (`source`) that returned its `saga_id`; the other arguments place status,
 * input, request id and detail in the statement.
 */
const logFrom = (source: string, status: string, input: string, requestId: string, detail: string) =>
  `INSERT INTO saga_log (saga_id, input, request_id, outcome, status, detail)
   SELECT saga_id, ${input}, ${requestId}, 'applied', ${status}, ${detail} FROM ${source}`;

const logDetail = <Data>(transition: Transition<Data>) => ({
  sent: transition.send.map((outgoing) => ({ request_id: outgoing.requestId, type: outgoing.command.type })),
  ...(transition.state.reason ? { reason: transition.state.reason } : {}),
});

const deadlineOf = (state: SagaState<unknown>): Date | null =>
  state.pending ? new Date(state.pending.deadline) : null;
