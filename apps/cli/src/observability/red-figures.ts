import type { MetricFamily, Sample } from '@mercato/chassis/prometheus-text';

/** What one scrape of a service's /metrics says, reduced to what the console draws. */
export interface Snapshot {
  /** Cumulative: requests served (HTTP and gRPC), of which server errors, and duration buckets. */
  requests: number;
  errors: number;
  /** Upper bound (s) → cumulative count, HTTP and gRPC server histograms added together. */
  buckets: Map<number, number>;
  messages: number;
  messageFailures: number;
  breakers: { dependency: string; state: number; opened: number }[];
  outboxBacklog: number | null;
  consumerLag: { group: string; messages: number }[];
  readModelLag: { read_model: string; generation: string; events: number; seconds: number }[];
  heapBytes: number | null;
  eventLoopUtilization: number | null;
}

/** The figures between two snapshots: one point of the RED charts. */
export interface RedPoint {
  t: number;
  rate: number;
  error_pct: number;
  p50_ms: number | null;
  p99_ms: number | null;
  messages_rate: number;
}

// gRPC codes that say the server failed, not the caller (NotFound, InvalidArgument … are answers).
const serverFailures = new Set([
  'UNKNOWN',
  'Unknown',
  'Internal',
  'Unavailable',
  'DeadlineExceeded',
  'DataLoss',
]);

const samplesOf = (families: readonly MetricFamily[], name: string): Sample[] =>
  families.find((family) => family.name === name)?.samples ?? [];

const sum = (samples: readonly Sample[]) => samples.reduce((total, sample) => total + sample.value, 0);

export function snapshotOf(families: readonly MetricFamily[]): Snapshot {
  const buckets = new Map<number, number>();
  let requests = 0;
  let errors = 0;
  for (const name of ['http_server_request_duration_seconds', 'rpc_server_duration_seconds']) {
    for (const sample of samplesOf(families, name)) {
      if (sample.name.endsWith('_count')) {
        requests += sample.value;
        const status = Number(sample.labels.status_code ?? 0);
        if (status >= 500 || serverFailures.has(sample.labels.grpc_code ?? '')) errors += sample.value;
      } else if (sample.name.endsWith('_bucket')) {
        const bound = sample.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(sample.labels.le);
        buckets.set(bound, (buckets.get(bound) ?? 0) + sample.value);
      }
    }
  }
  const handled = samplesOf(families, 'consumer_handle_duration_seconds').filter((sample) =>
    sample.name.endsWith('_count'),
  );
  const opened = new Map<string, number>();
  for (const sample of samplesOf(families, 'rpc_client_breaker_transitions_total'))
    if (sample.labels.state === 'open')
      opened.set(
        sample.labels.dependency ?? '',
        (opened.get(sample.labels.dependency ?? '') ?? 0) + sample.value,
      );
  const backlog = samplesOf(families, 'outbox_backlog');
  const heap = samplesOf(families, 'nodejs_heap_size_used_bytes');
  const loop = samplesOf(families, 'nodejs_eventloop_utilization_ratio');
  const lagSeconds = samplesOf(families, 'read_model_lag_seconds');
  return {
    requests,
    errors,
    buckets,
    messages: sum(handled),
    messageFailures: sum(
      handled.filter(
        (sample) => sample.labels.outcome !== 'processed' && sample.labels.outcome !== 'duplicate',
      ),
    ),
    breakers: samplesOf(families, 'rpc_client_breaker_state').map((sample) => ({
      dependency: sample.labels.dependency ?? '',
      state: sample.value,
      opened: opened.get(sample.labels.dependency ?? '') ?? 0,
    })),
    outboxBacklog: backlog.length > 0 ? sum(backlog) : null,
    consumerLag: samplesOf(families, 'consumer_lag_messages').map((sample) => ({
      group: sample.labels.group ?? '',
      messages: sample.value,
    })),
    readModelLag: samplesOf(families, 'read_model_lag_events').map((sample) => ({
      read_model: sample.labels.read_model ?? '',
      generation: sample.labels.generation ?? '',
      events: sample.value,
      seconds:
        lagSeconds.find(
          (other) =>
            other.labels.read_model === sample.labels.read_model &&
            other.labels.generation === sample.labels.generation,
        )?.value ?? 0,
    })),
    heapBytes: heap.length > 0 ? sum(heap) : null,
    eventLoopUtilization: loop[0]?.value ?? null,
  };
}

/** A quantile from the increase of cumulative histogram buckets, interpolated inside its bucket as Prometheus' histogram_quantile does. */
export function quantileMs(
  before: Map<number, number>,
  after: Map<number, number>,
  q: number,
): number | null {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const increase = bounds.map((bound) => Math.max(0, (after.get(bound) ?? 0) - (before.get(bound) ?? 0)));
  const total = increase.at(-1) ?? 0;
  if (total === 0) return null;
  const rank = q * total;
  for (let index = 0; index < bounds.length; index++) {
    const count = increase[index] ?? 0;
    if (count < rank) continue;
    const upper = bounds[index] ?? 0;
    const lower = index === 0 ? 0 : (bounds[index - 1] ?? 0);
    if (!Number.isFinite(upper)) return lower * 1000;
    const below = index === 0 ? 0 : (increase[index - 1] ?? 0);
    const inBucket = count - below;
    const share = inBucket === 0 ? 1 : (rank - below) / inBucket;
    return (lower + (upper - lower) * share) * 1000;
  }
  return null;
}

export function redPoint(t: number, seconds: number, before: Snapshot, after: Snapshot): RedPoint {
  // A restarted process starts its counters again: a negative increase is read as the new count.
  const increase = (a: number, b: number) => (b >= a ? b - a : b);
  const requests = increase(before.requests, after.requests);
  const errors = increase(before.errors, after.errors);
  const restarted = after.requests < before.requests;
  return {
    t,
    rate: requests / seconds,
    error_pct: requests === 0 ? 0 : (100 * errors) / requests,
    p50_ms: quantileMs(restarted ? new Map() : before.buckets, after.buckets, 0.5),
    p99_ms: quantileMs(restarted ? new Map() : before.buckets, after.buckets, 0.99),
    messages_rate: increase(before.messages, after.messages) / seconds,
  };
}
