import { Gauge, Histogram, type Registry } from 'prom-client';

export interface ConsumerMetrics {
  duration: Histogram<'group' | 'type' | 'outcome'>;
  /** Registers how to read a group's lag; it is read at scrape time. */
  trackLag: (group: string, read: () => Promise<number>) => void;
}

// One set of series per registry (a service has one); several consumers share it.
const perRegistry = new WeakMap<Registry, ConsumerMetrics>();

export function consumerMetrics(registry: Registry): ConsumerMetrics {
  const existing = perRegistry.get(registry);
  if (existing) return existing;
  const sources = new Map<string, () => Promise<number>>();
  new Gauge({
    name: 'consumer_lag_messages',
    help: 'Messages a consumer group has not yet acknowledged',
    labelNames: ['group'],
    registers: [registry],
    async collect() {
      for (const [group, read] of sources) {
        // An unreadable lag shows as NaN rather than failing the whole scrape.
        this.set({ group }, await read().catch(() => Number.NaN));
      }
    },
  });
  const metrics: ConsumerMetrics = {
    duration: new Histogram({
      name: 'consumer_handle_duration_seconds',
      help: 'Time to handle one delivery, by consumer group, message type and outcome',
      labelNames: ['group', 'type', 'outcome'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    trackLag: (group, read) => void sources.set(group, read),
  };
  perRegistry.set(registry, metrics);
  return metrics;
}
