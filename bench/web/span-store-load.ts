import { randomBytes } from 'node:crypto';
import type { StoredSpan } from '../../apps/cli/src/observability/span.ts';
import { SpanStore } from '../../apps/cli/src/observability/span-store.ts';

/**
 * One request as the platform traces it: the gateway's server and handler spans, its gRPC client
 * span, the service's server span, a pool connect and two queries, with the attributes they carry.
 */
function requestTrace(startMs: number, outcome: 'ok' | 'error' | 'slow'): StoredSpan[] {
  const traceId = randomBytes(16).toString('hex');
  const id = () => randomBytes(8).toString('hex');
  const durationMs = outcome === 'slow' ? 800 : 12;
  const correlation = `corr_${randomBytes(8).toString('hex')}`;
  const root = id();
  const handler = id();
  const client = id();
  const server = id();
  const base = (
    spanId: string,
    parentSpanId: string,
    service: string,
    name: string,
    offset: number,
    ms: number,
  ) => ({
    traceId,
    spanId,
    parentSpanId,
    service,
    name,
    startMs: startMs + offset,
    durationMs: ms,
    statusMessage: '',
    events: [],
  });
  return [
    {
      ...base(root, '', 'gateway', 'request', 0, durationMs),
      kind: 'server',
      status: 'unset',
      attributes: {
        'http.request.method': 'GET',
        'url.path': '/api/storefront/products',
        'http.route': '/api/storefront/products',
        'http.response.status_code': outcome === 'error' ? 503 : 200,
      },
    },
    {
      ...base(handler, root, 'gateway', 'handler - storefrontEdgeRoutes', 0.2, durationMs - 0.4),
      kind: 'internal',
      status: 'unset',
      attributes: { 'mercato.correlation_id': correlation },
    },
    {
      ...base(
        client,
        handler,
        'gateway',
        'mercato.catalog.v1.CatalogService/ListProducts',
        0.5,
        durationMs - 2,
      ),
      kind: 'client',
      status: outcome === 'error' ? 'error' : 'unset',
      attributes: {
        'rpc.system': 'grpc',
        'rpc.service': 'mercato.catalog.v1.CatalogService',
        'rpc.method': 'ListProducts',
        'peer.service': 'catalog',
        'rpc.grpc.status_code': outcome === 'error' ? 14 : 0,
        'mercato.correlation_id': correlation,
      },
    },
    {
      ...base(server, client, 'catalog', 'mercato.catalog.v1.CatalogService/ListProducts', 1, durationMs - 4),
      kind: 'server',
      status: 'unset',
      attributes: {
        'rpc.system': 'grpc',
        'rpc.method': 'ListProducts',
        'mercato.correlation_id': correlation,
      },
    },
    {
      ...base(id(), server, 'catalog', 'pg-pool.connect', 1.2, 0.3),
      kind: 'client',
      status: 'unset',
      attributes: { 'db.system.name': 'postgresql', 'db.namespace': 'catalog', 'server.port': 25432 },
    },
    ...[0, 1].map((n) => ({
      ...base(id(), server, 'catalog', 'pg.query:SELECT catalog', 1.6 + n * 3, 2.5),
      kind: 'client' as const,
      status: 'unset' as const,
      attributes: {
        'db.system.name': 'postgresql',
        'db.namespace': 'catalog',
        'db.query.text':
          'SELECT id, sku, name, description, category_slug FROM products ORDER BY sku LIMIT $1 OFFSET $2',
      },
    })),
  ];
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
};

/**
 * The span store fed the last `seconds` of `rate` requests per second (1 % failing, 2 % slow, the
 * rest sampled at the supervisor's default 10 %), on a clock advanced by the trace, then queried
 * the ways the console queries it.
 */
export function measureSpanStore(options: { rate: number; seconds: number; maxBytes: number }) {
  let clock = Date.now() - options.seconds * 1000;
  const store = new SpanStore({
    maxBytes: options.maxBytes,
    decisionWaitMs: 2_000,
    slowMs: 500,
    sampleRate: 0.1,
    now: () => clock,
  });
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const total = options.rate * options.seconds;
  const stepMs = 1000 / options.rate;
  const began = performance.now();
  let spans = 0;
  for (let n = 0; n < total; n++) {
    const outcome = n % 100 === 0 ? 'error' : n % 50 === 1 ? 'slow' : 'ok';
    const trace = requestTrace(clock, outcome);
    spans += trace.length;
    store.add(trace);
    clock += stepMs;
    if (n % options.rate === 0) store.decide();
  }
  clock += 3_000;
  store.decide();
  const ingestSeconds = (performance.now() - began) / 1000;
  gc?.();
  const heapBytes = process.memoryUsage().heapUsed - heapBefore;
  const stats = store.stats();

  const queries: [string, Parameters<SpanStore['query']>[0]][] = [
    ['newest 50', { limit: 50 }],
    ['errors of gateway', { limit: 50, service: 'gateway', status: 'error' }],
    ['slower than 500 ms', { limit: 50, minMs: 500 }],
    ['by attribute (no match)', { limit: 50, attribute: { key: 'http.response.status_code', value: '418' } }],
    ['by correlation id (no match)', { limit: 50, correlationId: 'corr_none' }],
    ['span name text (no match)', { limit: 50, text: 'nothing like this' }],
  ];
  const timings: Record<string, { p50_ms: number; p99_ms: number; found: number }> = {};
  for (const [name, query] of queries) {
    const times: number[] = [];
    let found = 0;
    for (let round = 0; round < 30; round++) {
      const start = performance.now();
      found = store.query(query).length;
      times.push(performance.now() - start);
    }
    timings[name] = { p50_ms: percentile(times, 50), p99_ms: percentile(times, 99), found };
  }
  // The floor under an attribute query: one pass over every kept span's attributes, nothing else.
  const kept = store.query({ limit: 1_000_000 }).map((summary) => store.trace(summary.trace_id)?.spans ?? []);
  const scanTimes: number[] = [];
  let hits = 0;
  for (let round = 0; round < 30; round++) {
    const start = performance.now();
    for (const trace of kept)
      for (const span of trace) if (span.attributes['http.response.status_code'] === 418) hits++;
    scanTimes.push(performance.now() - start);
  }
  if (hits !== 0) throw new Error('the baseline scan found a span it should not have');
  return {
    requests: total,
    spans_offered: spans,
    ingest_spans_per_s: Math.round(spans / ingestSeconds),
    traces_kept: stats.traces,
    spans_kept: kept.reduce((sum, trace) => sum + trace.length, 0),
    store_bytes_estimate: stats.bytes,
    heap_bytes: heapBytes,
    queries: timings,
    scan_baseline_p50_ms: percentile(scanTimes, 50),
  };
}
