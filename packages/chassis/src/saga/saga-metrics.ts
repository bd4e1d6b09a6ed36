import { Counter, Gauge, type Registry } from 'prom-client';
import type { Pool } from '../db/database.ts';

/**
 * The saga metrics of one service. A service may run several sagas on one registry: each metric is
 * created by whichever runner asks first, and the gauges count every saga type in the database.
 */
export class SagaMetrics {
  readonly finished: Counter<'saga' | 'status'>;
  readonly failed: Counter<'saga'>;
  readonly timeouts: Counter<'saga' | 'step'>;
  readonly resends: Counter<'saga' | 'step'>;
  readonly becameStuck: Counter<'saga' | 'step'>;
  readonly ignored: Counter<'saga' | 'why'>;
  readonly timerFailures: Counter<'saga'>;

  constructor(registry: Registry, pool: Pool, saga: string) {
    this.finished = counter(registry, 'saga_finished_total', 'Sagas that ended, by final status', [
      'saga',
      'status',
    ]);
    this.failed = counter(
      registry,
      'saga_failed_total',
      'Sagas left FAILED: a compensation kept failing; a person must look at them',
      ['saga'],
    );
    this.timeouts = counter(
      registry,
      'saga_step_timeouts_total',
      'Attempts of a step the saga stopped waiting for',
      ['saga', 'step'],
    );
    this.resends = counter(
      registry,
      'saga_step_resends_total',
      'Commands sent again with the same idempotency key (after a timeout, or a retriable step’s failure)',
      ['saga', 'step'],
    );
    this.becameStuck = counter(
      registry,
      'saga_step_stuck_total',
      'Times a saga became stuck: retrying a step at or after its pivot beyond the step’s timeout',
      ['saga', 'step'],
    );
    this.ignored = counter(
      registry,
      'saga_replies_ignored_total',
      'Inputs recorded but not applied (stale, duplicate, after a timeout, or an abort past the pivot)',
      ['saga', 'why'],
    );
    this.timerFailures = counter(
      registry,
      'saga_timer_failures_total',
      'Timeouts whose transition threw; the saga’s timer is pushed back, the others fire on',
      ['saga'],
    );
    this.failed.inc({ saga }, 0);
    this.timerFailures.inc({ saga }, 0);
    gauge(
      registry,
      'saga_open',
      'Sagas not yet finished, by saga and status',
      ['saga', 'status'],
      async () => {
        const { rows } = await pool.query<{ saga: string; status: string; count: number }>(
          `SELECT saga_type AS saga, status, count(*)::int AS count FROM saga_instances
          WHERE status IN ('running', 'stuck', 'compensating') GROUP BY saga_type, status`,
        );
        return rows.map((row) => [{ saga: row.saga, status: row.status }, row.count]);
      },
    );
    gauge(
      registry,
      'saga_step_stuck',
      'Sagas stuck now, by the step they keep retrying forward (see GET /admin/sagas?status=stuck)',
      ['saga', 'step'],
      async () => {
        const { rows } = await pool.query<{ saga: string; step: string; count: number }>(
          `SELECT saga_type AS saga, coalesce(state->'stuck'->>'step', '') AS step, count(*)::int AS count
             FROM saga_instances WHERE status = 'stuck' GROUP BY 1, 2`,
        );
        return rows.map((row) => [{ saga: row.saga, step: row.step }, row.count]);
      },
    );
    gauge(
      registry,
      'saga_timers_failing',
      'Sagas whose last timeout threw (their timer is retried with backoff)',
      ['saga'],
      async () => {
        const { rows } = await pool.query<{ saga: string; count: number }>(
          `SELECT saga_type AS saga, count(*)::int AS count FROM saga_instances
            WHERE timer_failures > 0 GROUP BY saga_type`,
        );
        return rows.map((row) => [{ saga: row.saga }, row.count]);
      },
    );
  }
}

function counter<Label extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: Label[],
): Counter<Label> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<Label>;
  return new Counter({ name, help, labelNames, registers: [registry] });
}

/** A gauge read from the database at each scrape (created once per registry). */
function gauge<Label extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: Label[],
  read: () => Promise<[Record<Label, string>, number][]>,
): void {
  if (registry.getSingleMetric(name)) return;
  new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    async collect() {
      const values = await read();
      this.reset();
      for (const [labels, value] of values)
        this.set(labels as Partial<Record<Label, string | number>>, value);
    },
  });
}
