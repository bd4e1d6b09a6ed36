import { describe, expect, it } from 'vitest';
import type { StoredSpan } from './span.ts';
import { SpanStore } from './span-store.ts';

let clock = 1_000_000;
const span = (traceId: string, overrides: Partial<StoredSpan> = {}): StoredSpan => ({
  traceId,
  spanId: `${traceId.slice(0, 8)}${Math.random().toString(16).slice(2, 10)}`,
  parentSpanId: '',
  service: 'gateway',
  name: 'GET /api/catalog/products',
  kind: 'server',
  startMs: clock,
  durationMs: 10,
  status: 'unset',
  statusMessage: '',
  attributes: {},
  events: [],
  ...overrides,
});
// Trace ids whose first 32 bits fall below or above a 10 % sample.
const sampledIn = (n: number) => `00000${n.toString(16).padStart(3, '0')}${'a'.repeat(24)}`;
const sampledOut = (n: number) => `f0000${n.toString(16).padStart(3, '0')}${'a'.repeat(24)}`;

const store = (settings: Partial<ConstructorParameters<typeof SpanStore>[0]> = {}) =>
  new SpanStore({
    maxBytes: 10_000_000,
    decisionWaitMs: 2_000,
    slowMs: 500,
    sampleRate: 0.1,
    now: () => clock,
    ...settings,
  });

describe('SpanStore (tail sampling)', () => {
  it('keeps every trace with an error or over the latency threshold and only the sampled share of the rest', () => {
    const spans = store();
    spans.add([span(sampledOut(1), { status: 'error' })]);
    spans.add([span(sampledOut(2), { durationMs: 800 })]);
    spans.add([span(sampledOut(3))]);
    spans.add([span(sampledIn(4))]);
    clock += 1_999;
    spans.decide();
    expect(spans.query({ limit: 10 })).toEqual([]);
    clock += 1;
    spans.decide();
    const kept = spans.query({ limit: 10 });
    expect(kept.map((trace) => [trace.trace_id, trace.kept_because])).toEqual([
      [sampledIn(4), 'sampled'],
      [sampledOut(2), 'slow'],
      [sampledOut(1), 'error'],
    ]);
    expect(spans.stats()).toMatchObject({ traces_kept: 3, traces_dropped: 1 });
  });

  it('waits for a trace to go quiet before deciding, and spans after the decision follow it', () => {
    const spans = store();
    const id = sampledOut(5);
    spans.add([span(id)]);
    clock += 1_500;
    spans.add([span(id, { service: 'order', status: 'error' })]);
    clock += 1_500;
    spans.decide();
    expect(spans.query({ limit: 10 })).toEqual([]);
    clock += 500;
    spans.decide();
    expect(spans.trace(id)?.spans).toHaveLength(2);
    spans.add([span(id, { service: 'payment' })]);
    expect(spans.trace(id)?.summary.services).toEqual(['gateway', 'order', 'payment']);
    const dropped = sampledOut(6);
    spans.add([span(dropped)]);
    clock += 2_000;
    spans.decide();
    spans.add([span(dropped, { status: 'error' })]);
    clock += 2_000;
    spans.decide();
    expect(spans.trace(dropped)).toBeUndefined();
  });

  it('filters by service, status, duration, attribute, correlation id and time', () => {
    const spans = store({ sampleRate: 1 });
    const a = sampledIn(7);
    const b = sampledIn(8);
    spans.add([
      span(a, { attributes: { 'http.route': '/api/orders', 'mercato.correlation_id': 'corr_1' } }),
      span(a, { service: 'order', status: 'error', durationMs: 40 }),
    ]);
    clock += 10_000;
    spans.add([span(b, { service: 'catalog', durationMs: 5 })]);
    clock += 2_000;
    spans.decide();
    const ids = (query: Parameters<SpanStore['query']>[0]) =>
      spans.query(query).map((trace) => trace.trace_id);
    expect(ids({ limit: 10, service: 'order' })).toEqual([a]);
    expect(ids({ limit: 10, status: 'error' })).toEqual([a]);
    expect(ids({ limit: 10, status: 'ok' })).toEqual([b]);
    expect(ids({ limit: 10, minMs: 20 })).toEqual([a]);
    expect(ids({ limit: 10, attribute: { key: 'http.route', value: '/api/orders' } })).toEqual([a]);
    expect(ids({ limit: 10, correlationId: 'corr_1' })).toEqual([a]);
    expect(ids({ limit: 10, sinceMs: clock - 5_000 })).toEqual([b]);
    expect(ids({ limit: 1 })).toEqual([b]);
  });

  it('stays within its bound by dropping the oldest kept traces', () => {
    const spans = store({ maxBytes: 50_000, sampleRate: 1 });
    for (let n = 0; n < 400; n++) {
      spans.add([span(sampledIn(n), { attributes: { note: 'x'.repeat(100) } })]);
      clock += 10;
    }
    clock += 2_000;
    spans.decide();
    const stats = spans.stats();
    expect(stats.bytes).toBeLessThanOrEqual(50_000);
    expect(stats.traces_evicted).toBeGreaterThan(0);
    expect(spans.query({ limit: 1 })[0]?.trace_id).toBe(sampledIn(399));
  });
});
