import { traceIdDraw } from '@mercato/chassis/trace-id-draw';
import { type CriticalSection, criticalPath } from './critical-path.ts';
import { approximateBytes, CORRELATION_ATTRIBUTE, type StoredSpan } from './span.ts';

export interface SpanStoreSettings {
  /** The store's bound: kept traces are dropped oldest first above it. */
  maxBytes: number;
  /** A trace is decided this long after its last span arrived. */
  decisionWaitMs: number;
  /** A trace at least this long (first start to last end) is always kept. */
  slowMs: number;
  /** The share of the other traces (no error, not slow) kept, 0–1. */
  sampleRate: number;
  now?: () => number;
  /** Called after spans were added that wait for a decision (to set the timer that calls `decide`). */
  onPending?: () => void;
}

export interface TraceSummary {
  trace_id: string;
  root_service: string;
  root_name: string;
  start_ms: number;
  duration_ms: number;
  span_count: number;
  services: string[];
  error: boolean;
  error_services: string[];
  correlation_ids: string[];
  /** Why it was kept: error, slow or sampled. */
  kept_because: KeepReason;
}

export interface TraceQuery {
  service?: string | undefined;
  status?: 'error' | 'ok' | undefined;
  minMs?: number | undefined;
  maxMs?: number | undefined;
  /** `key=value`: some span has this attribute with this value. */
  attribute?: { key: string; value: string } | undefined;
  correlationId?: string | undefined;
  /** Text in a span's name or the root service. */
  text?: string | undefined;
  sinceMs?: number | undefined;
  untilMs?: number | undefined;
  limit: number;
}

export interface TraceDetail {
  summary: TraceSummary;
  spans: StoredSpan[];
  critical_path: CriticalSection[];
}

type KeepReason = 'error' | 'slow' | 'sampled';

interface TraceRecord {
  traceId: string;
  spans: StoredSpan[];
  bytes: number;
  lastArrivalMs: number;
  keptBecause: KeepReason | undefined;
  summary: TraceSummary | undefined;
  /** Every span's name, lower-cased and joined, for text search (made with the summary). */
  names: string | undefined;
  /** `key\u0000value` of every short attribute of its spans (made with the summary): attribute search without a scan. */
  attributes: Set<string> | undefined;
}

/** Attribute values up to this long are indexed; a longer one (a SQL text) is found by a scan. */
const INDEXED_VALUE_LENGTH = 64;

const DROPPED_MEMORY = 100_000;

/**
 * Recent traces in bounded memory, tail-sampled: a trace's spans are held until it has been quiet
 * for `decisionWaitMs`, then it is kept if a span failed or it took `slowMs` or longer, and
 * otherwise with probability `sampleRate` (decided by its id, so every process would agree); spans
 * arriving later join a kept trace or are dropped with it. Kept traces are evicted oldest first
 * once their spans' approximate size passes `maxBytes`. Written here rather than taken from a
 * collector because the console needs the traces in the supervisor's memory, with no process to run.
 */
export class SpanStore {
  readonly #settings: Required<SpanStoreSettings>;
  readonly #pending = new Map<string, TraceRecord>();
  /** Kept traces by id, and in the order they were kept (oldest first, evicted from the head). */
  readonly #kept = new Map<string, TraceRecord>();
  #order: TraceRecord[] = [];
  #head = 0;
  readonly #dropped = new Set<string>();
  #keptBytes = 0;
  #pendingBytes = 0;
  #counts = { received: 0, kept: 0, dropped: 0, evicted: 0 };

  constructor(settings: SpanStoreSettings) {
    this.#settings = { now: Date.now, onPending: () => undefined, ...settings };
  }

  add(spans: readonly StoredSpan[]): void {
    const now = this.#settings.now();
    this.#counts.received += spans.length;
    for (const span of spans) {
      if (this.#dropped.has(span.traceId)) continue;
      const bytes = approximateBytes(span);
      const kept = this.#kept.get(span.traceId);
      if (kept) {
        kept.spans.push(span);
        kept.bytes += bytes;
        kept.summary = undefined;
        kept.names = undefined;
        kept.attributes = undefined;
        this.#keptBytes += bytes;
        continue;
      }
      let pending = this.#pending.get(span.traceId);
      if (!pending) {
        pending = {
          traceId: span.traceId,
          spans: [],
          bytes: 0,
          lastArrivalMs: now,
          keptBecause: undefined,
          summary: undefined,
          names: undefined,
          attributes: undefined,
        };
        this.#pending.set(span.traceId, pending);
      }
      pending.spans.push(span);
      pending.bytes += bytes;
      pending.lastArrivalMs = now;
      this.#pendingBytes += bytes;
    }
    this.#evict();
    if (this.#pending.size > 0) this.#settings.onPending();
  }

  /** Traces waiting for their decision: while there are any, the supervisor calls `decide` on a timer. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Decides every trace quiet for the decision wait; the supervisor calls it on a timer. */
  decide(): void {
    const now = this.#settings.now();
    for (const [traceId, record] of this.#pending)
      if (now - record.lastArrivalMs >= this.#settings.decisionWaitMs) this.#decideOne(traceId, record);
    this.#evict();
  }

  #decideOne(traceId: string, record: TraceRecord): void {
    this.#pending.delete(traceId);
    this.#pendingBytes -= record.bytes;
    const reason = this.#keepReason(traceId, record.spans);
    if (!reason) {
      this.#counts.dropped++;
      this.#dropped.add(traceId);
      if (this.#dropped.size > DROPPED_MEMORY)
        this.#dropped.delete(this.#dropped.values().next().value ?? '');
      return;
    }
    this.#counts.kept++;
    record.keptBecause = reason;
    this.#kept.set(traceId, record);
    this.#order.push(record);
    this.#keptBytes += record.bytes;
    // Made now, while deciding, so a query never pays for thousands of new traces at once.
    this.#summaryOf(record);
  }

  query(query: TraceQuery): TraceSummary[] {
    const found: TraceSummary[] = [];
    const text = query.text?.toLowerCase();
    // Newest first: walk the kept traces from the end.
    for (let index = this.#order.length - 1; index >= this.#head && found.length < query.limit; index--) {
      const record = this.#order[index] as TraceRecord;
      const summary = this.#summaryOf(record);
      if (query.service && !summary.services.includes(query.service)) continue;
      if (query.status === 'error' && !summary.error) continue;
      if (query.status === 'ok' && summary.error) continue;
      if (query.minMs !== undefined && summary.duration_ms < query.minMs) continue;
      if (query.maxMs !== undefined && summary.duration_ms > query.maxMs) continue;
      if (query.sinceMs !== undefined && summary.start_ms < query.sinceMs) continue;
      if (query.untilMs !== undefined && summary.start_ms > query.untilMs) continue;
      if (query.correlationId && !summary.correlation_ids.includes(query.correlationId)) continue;
      if (text && !(record.names ?? '').includes(text)) continue;
      const attribute = query.attribute;
      if (attribute && !hasAttribute(record, attribute.key, attribute.value)) continue;
      found.push(summary);
    }
    return found;
  }

  trace(traceId: string): TraceDetail | undefined {
    const record = this.#kept.get(traceId) ?? this.#pending.get(traceId);
    if (!record) return undefined;
    const spans = [...record.spans].sort((a, b) => a.startMs - b.startMs);
    return { summary: this.#summaryOf(record), spans, critical_path: criticalPath(spans) };
  }

  stats() {
    return {
      traces: this.#kept.size,
      pending_traces: this.#pending.size,
      bytes: this.#keptBytes + this.#pendingBytes,
      max_bytes: this.#settings.maxBytes,
      spans_received: this.#counts.received,
      traces_kept: this.#counts.kept,
      traces_dropped: this.#counts.dropped,
      traces_evicted: this.#counts.evicted,
      oldest_ms: this.#order[this.#head]?.spans[0]?.startMs ?? null,
    };
  }

  #keepReason(traceId: string, spans: readonly StoredSpan[]): KeepReason | undefined {
    if (spans.some((span) => span.status === 'error')) return 'error';
    const { startMs, endMs } = extent(spans);
    if (endMs - startMs >= this.#settings.slowMs) return 'slow';
    // The draw the services' head sampler uses beyond its budget: what it records by share, this keeps.
    return traceIdDraw(traceId) < this.#settings.sampleRate ? 'sampled' : undefined;
  }

  #summaryOf(record: TraceRecord): TraceSummary {
    if (record.summary) return record.summary;
    const spans = record.spans;
    const root =
      spans.find((span) => span.parentSpanId === '') ??
      spans.reduce((earliest, span) => (span.startMs < earliest.startMs ? span : earliest));
    const { startMs, endMs } = extent(spans);
    const services = new Set<string>();
    const errorServices = new Set<string>();
    const correlationIds = new Set<string>();
    for (const span of spans) {
      services.add(span.service);
      if (span.status === 'error') errorServices.add(span.service);
      const correlation = span.attributes[CORRELATION_ATTRIBUTE];
      if (typeof correlation === 'string') correlationIds.add(correlation);
    }
    record.summary = {
      trace_id: root.traceId,
      root_service: root.service,
      root_name: displayName(root),
      start_ms: startMs,
      duration_ms: endMs - startMs,
      span_count: spans.length,
      services: [...services],
      error: errorServices.size > 0,
      error_services: [...errorServices],
      correlation_ids: [...correlationIds],
      kept_because: record.keptBecause ?? 'sampled',
    };
    record.names = spans.map((span) => span.name.toLowerCase()).join('\n');
    record.attributes = new Set();
    for (const span of spans)
      for (const [key, value] of Object.entries(span.attributes)) {
        const text = String(value);
        if (text.length <= INDEXED_VALUE_LENGTH) record.attributes.add(`${key}\u0000${text}`);
      }
    return record.summary;
  }

  #evict(): void {
    // Undecided traces may hold at most half the bound; past it the oldest are decided early.
    while (this.#pendingBytes > this.#settings.maxBytes / 2 && this.#pending.size > 0) {
      const [traceId, record] = this.#pending.entries().next().value as [string, TraceRecord];
      this.#decideOne(traceId, record);
    }
    while (
      this.#keptBytes + this.#pendingBytes > this.#settings.maxBytes &&
      this.#head < this.#order.length
    ) {
      const record = this.#order[this.#head++] as TraceRecord;
      this.#kept.delete(record.traceId);
      this.#keptBytes -= record.bytes;
      this.#counts.evicted++;
    }
    // Compacts now and then rather than shifting the array on every eviction.
    if (this.#head > 1_000 && this.#head > this.#order.length / 2) {
      this.#order = this.#order.slice(this.#head);
      this.#head = 0;
    }
  }
}

/** Whether a span of the trace has this attribute with this value (compared as text, as a query gives it). */
function hasAttribute(record: TraceRecord, key: string, value: string): boolean {
  if (value.length <= INDEXED_VALUE_LENGTH) return record.attributes?.has(`${key}\u0000${value}`) === true;
  return record.spans.some((span) => {
    const found = span.attributes[key];
    return found !== undefined && String(found) === value;
  });
}

/** A server span named only "request" (@fastify/otel) is better known by its method and route. */
function displayName(span: StoredSpan): string {
  const route = span.attributes['http.route'] ?? span.attributes['url.path'];
  const method = span.attributes['http.request.method'];
  return span.name === 'request' && route ? `${method ?? ''} ${route}`.trim() : span.name;
}

function extent(spans: readonly StoredSpan[]): { startMs: number; endMs: number } {
  let startMs = Number.POSITIVE_INFINITY;
  let endMs = Number.NEGATIVE_INFINITY;
  for (const span of spans) {
    startMs = Math.min(startMs, span.startMs);
    endMs = Math.max(endMs, span.startMs + span.durationMs);
  }
  return { startMs, endMs };
}
