import { useState } from 'react';
import type { Span, TraceDetail } from '../ops-types.ts';

const palette = ['#2f5fd0', '#1b7f3b', '#a05a00', '#7b3fb3', '#0f7c8c', '#b3261e', '#5a6b00', '#c2418f'];

/** Spans in tree order (children under their parent, by start), each with its depth. */
function treeOrder(spans: readonly Span[]): { span: Span; depth: number }[] {
  const ids = new Set(spans.map((span) => span.spanId));
  const children = new Map<string, Span[]>();
  const roots: Span[] = [];
  for (const span of spans) {
    if (span.parentSpanId && ids.has(span.parentSpanId)) {
      const list = children.get(span.parentSpanId) ?? [];
      list.push(span);
      children.set(span.parentSpanId, list);
    } else roots.push(span);
  }
  const ordered: { span: Span; depth: number }[] = [];
  const visit = (span: Span, depth: number) => {
    ordered.push({ span, depth });
    for (const child of (children.get(span.spanId) ?? []).sort((a, b) => a.startMs - b.startMs))
      visit(child, depth + 1);
  };
  for (const root of roots.sort((a, b) => a.startMs - b.startMs)) visit(root, 0);
  return ordered;
}

/** One trace across processes: a bar per span on a shared time axis, the critical path outlined. */
export function Waterfall({ detail }: { detail: TraceDetail }) {
  const [selected, setSelected] = useState<string | null>(null);
  const start = detail.summary.start_ms;
  const total = Math.max(detail.summary.duration_ms, 0.001);
  const services = [...new Set(detail.spans.map((span) => span.service))];
  const colour = (service: string) => palette[services.indexOf(service) % palette.length];
  const critical = new Map<string, { startMs: number; endMs: number }[]>();
  for (const section of detail.critical_path) {
    const list = critical.get(section.spanId) ?? [];
    list.push(section);
    critical.set(section.spanId, list);
  }
  const chosen = detail.spans.find((span) => span.spanId === selected);
  const pct = (ms: number) => `${((ms - start) / total) * 100}%`;
  const width = (ms: number) => `${Math.max((ms / total) * 100, 0.2)}%`;
  return (
    <>
      <p className="note">Outlined: the critical path (the work that decided when the trace ended).</p>
      <table className="waterfall" aria-label="Waterfall">
        <thead>
          <tr>
            <th scope="col">Service</th>
            <th scope="col">Span</th>
            <th scope="col">Duration</th>
            <th scope="col">Timeline ({total.toFixed(1)} ms)</th>
          </tr>
        </thead>
        <tbody>
          {treeOrder(detail.spans).map(({ span, depth }) => (
            <tr
              key={span.spanId}
              className={span.status === 'error' ? 'error' : ''}
              aria-selected={span.spanId === selected}
              onClick={() => setSelected(span.spanId)}
            >
              <td style={{ color: colour(span.service) }}>{span.service}</td>
              <td style={{ paddingLeft: `${depth * 0.9 + 0.6}rem` }}>
                <button type="button" className="secondary" onClick={() => setSelected(span.spanId)}>
                  {span.name}
                </button>
                {span.status === 'error' ? ' ✕ error' : ''}
                {critical.has(span.spanId) ? <span className="badge">critical</span> : null}
              </td>
              <td>{span.durationMs.toFixed(2)} ms</td>
              <td className="bar">
                <div className="track">
                  <div
                    className="span-bar"
                    style={{
                      left: pct(span.startMs),
                      width: width(span.durationMs),
                      background: colour(span.service),
                    }}
                  />
                  {(critical.get(span.spanId) ?? []).map((section) => (
                    <div
                      key={section.startMs}
                      className="critical"
                      style={{ left: pct(section.startMs), width: width(section.endMs - section.startMs) }}
                    />
                  ))}
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {chosen ? (
        <section aria-label="Span details">
          <h3>
            {chosen.service}: {chosen.name} ({chosen.kind}, {chosen.status}
            {chosen.statusMessage ? `: ${chosen.statusMessage}` : ''})
          </h3>
          <pre className="json">
            {JSON.stringify({ attributes: chosen.attributes, events: chosen.events }, null, 2)}
          </pre>
        </section>
      ) : null}
    </>
  );
}
