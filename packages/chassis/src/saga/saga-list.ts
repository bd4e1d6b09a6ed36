import type { Pool } from '../db/database.ts';
import type { SagaStatus, StuckStep } from './saga-state.ts';

export interface SagaListQuery {
  status?: SagaStatus;
  /** Only sagas whose last timeout threw. */
  timerFailing?: boolean;
  limit: number;
}

export interface SagaListItem {
  sagaId: string;
  type: string;
  status: SagaStatus;
  /** Why it is compensating, compensated, failed or stuck (null while running as it should). */
  why: string | null;
  /** Set while stuck: the step retried forward, since when, how often. */
  stuck: (Omit<StuckStep, 'since'> & { since: Date }) | null;
  timerFailures: number;
  timerError: string | null;
  updatedAt: Date;
}

/** Sagas as operators list them, newest change first (every saga type in the database). */
export async function listSagas(pool: Pool, query: SagaListQuery): Promise<SagaListItem[]> {
  const { rows } = await pool.query<{
    saga_id: string;
    saga_type: string;
    status: SagaStatus;
    reason: string | null;
    stuck: StuckStep | null;
    timer_failures: number;
    timer_error: string | null;
    updated_at: Date;
  }>(
    `SELECT saga_id, saga_type, status, state->>'reason' AS reason, state->'stuck' AS stuck,
            timer_failures, timer_error, updated_at
       FROM saga_instances
      WHERE ($1::text IS NULL OR status = $1) AND (NOT $2 OR timer_failures > 0)
      ORDER BY updated_at DESC LIMIT $3`,
    [query.status ?? null, query.timerFailing ?? false, query.limit],
  );
  return rows.map((row) => ({
    sagaId: row.saga_id,
    type: row.saga_type,
    status: row.status,
    why: row.stuck?.why ?? row.reason,
    stuck: row.stuck ? { ...row.stuck, since: new Date(row.stuck.since) } : null,
    timerFailures: row.timer_failures,
    timerError: row.timer_error,
    updatedAt: row.updated_at,
  }));
}
