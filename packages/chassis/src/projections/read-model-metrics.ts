import { Counter, Gauge, type Registry } from 'prom-client';
import type { Generation } from './read-model-generations.ts';
import type { ReadModelRunner } from './read-model-runner.ts';

/**
 * A read model's lag (events and seconds behind the log, per live or building generation), read at
 * scrape time, and the events it applied or rejected.
 */
export function registerReadModelMetrics(registry: Registry, runner: ReadModelRunner): void {
  const model = runner.model.name;
  const labelNames = ['read_model', 'generation'] as const;
  let lags: Promise<Array<{ generation: Generation; events: number; seconds: number }>> | undefined;
  // One reading of the log serves both gauges of a scrape.
  const readLags = () => {
    lags ??= (async () => {
      const active = (await runner.generations()).filter(
        (g) => g.status === 'live' || g.status === 'building',
      );
      return Promise.all(
        active.map(async (generation) => ({ generation, ...(await runner.lag(generation)) })),
      );
    })().finally(() => setTimeout(() => (lags = undefined), 100).unref());
    return lags;
  };
  const gauge = (name: string, help: string, pick: (lag: { events: number; seconds: number }) => number) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        this.reset();
        for (const lag of await readLags().catch(() => [])) {
          this.set({ read_model: model, generation: lag.generation.status }, pick(lag));
        }
      },
    });
  gauge(
    'read_model_lag_events',
    'Events of the log a read model generation has not applied yet',
    (l) => l.events,
  );
  gauge(
    'read_model_lag_seconds',
    'Age of the oldest event a read model generation has not applied',
    (l) => l.seconds,
  );
  const applied = new Counter({
    name: 'read_model_events_applied_total',
    help: 'Events read by a read model (every generation): applied, rejected, or duplicate (applied before, skipped)',
    labelNames: ['read_model', 'outcome'] as const,
    registers: [registry],
  });
  runner.onApplied = (count, rejected, duplicates) => {
    applied.inc({ read_model: model, outcome: 'applied' }, count);
    if (rejected > 0) applied.inc({ read_model: model, outcome: 'rejected' }, rejected);
    if (duplicates > 0) applied.inc({ read_model: model, outcome: 'duplicate' }, duplicates);
  };
}
