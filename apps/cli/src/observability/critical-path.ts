import type { StoredSpan } from './span.ts';

/** A stretch of time during which this span, and none of its children, held the trace up. */
export interface CriticalSection {
  spanId: string;
  startMs: number;
  endMs: number;
}

const endOf = (span: StoredSpan) => span.startMs + span.durationMs;

/**
 * The critical path of a trace: the chain of work that decided when it ended, walked backwards from
 * the span that ended last (Jaeger's algorithm, generalised to spans that outlive their parent, as
 * a consumer's span outlives the request that published its message). At each span, the child that
 * finished last before the current point owns the time after it; with none left, the span itself
 * owns the rest, and the walk goes up to its parent at the span's start.
 */
export function criticalPath(spans: readonly StoredSpan[]): CriticalSection[] {
  if (spans.length === 0) return [];
  const byId = new Map(spans.map((span) => [span.spanId, span]));
  const children = new Map<string, StoredSpan[]>();
  for (const span of spans) {
    if (!span.parentSpanId || !byId.has(span.parentSpanId)) continue;
    const siblings = children.get(span.parentSpanId) ?? [];
    siblings.push(span);
    children.set(span.parentSpanId, siblings);
  }
  for (const siblings of children.values()) siblings.sort((a, b) => endOf(b) - endOf(a));

  const last = spans.reduce((latest, span) => (endOf(span) > endOf(latest) ? span : latest));
  const sections: CriticalSection[] = [];
  let current: StoredSpan | undefined = last;
  let until = endOf(last);
  const visited = new Set<string>([last.spanId]);
  // Each step descends to a span not visited yet or climbs to the parent; the bound only guards
  // against malformed parent links (a cycle).
  for (let steps = 0; current && steps < spans.length * 4; steps++) {
    const point = until;
    const child: StoredSpan | undefined = (children.get(current.spanId) ?? []).find(
      (candidate) => !visited.has(candidate.spanId) && endOf(candidate) <= point,
    );
    if (child) {
      visited.add(child.spanId);
      if (point > endOf(child))
        sections.push({ spanId: current.spanId, startMs: endOf(child), endMs: point });
      current = child;
      until = endOf(child);
      continue;
    }
    if (point > current.startMs)
      sections.push({ spanId: current.spanId, startMs: current.startMs, endMs: point });
    const parent = byId.get(current.parentSpanId);
    if (!parent) break;
    until = Math.min(current.startMs, endOf(parent));
    current = parent;
  }
  return sections.reverse();
}
