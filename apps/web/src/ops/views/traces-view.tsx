import { useQuery } from '@tanstack/react-query';
import { Link } from 'wouter';
import { ProblemMessage } from '../../shared/problem-message.tsx';
import { ops } from '../ops-api.ts';
import type { TraceDetail, TraceSummary } from '../ops-types.ts';
import { useSearchFilters } from '../search-filters.tsx';
import { useSince } from '../time-range.ts';
import { Waterfall } from './waterfall.tsx';

const filterNames = ['service', 'status', 'min_ms', 'attribute', 'correlation_id', 'q'] as const;

/** Traces the supervisor kept (tail-sampled): search, then one trace as a waterfall. */
export function TracesView({ selected }: { selected?: string }) {
  const since = useSince();
  const filters = useSearchFilters(filterNames);
  const { params, query } = filters;
  // A link may pin the window (a saga's first seconds); otherwise the console's time range.
  const pinned = { since: params.get('since'), until: params.get('until') };
  if (pinned.since) query.set('since', pinned.since);
  else if (since !== undefined) query.set('since', String(Math.floor(since / 10_000) * 10_000));
  if (pinned.until) query.set('until', pinned.until);
  query.set('limit', '100');
  const traces = useQuery({
    queryKey: ['traces', query.toString()],
    queryFn: () =>
      ops<{ traces: TraceSummary[]; took_ms: number; store: { traces: number; bytes: number } }>(
        `traces?${query.toString()}`,
      ),
    refetchInterval: 3_000,
  });
  const detail = useQuery({
    queryKey: ['trace', selected],
    queryFn: () => ops<TraceDetail>(`traces/${selected}`),
    enabled: selected !== undefined,
  });
  return (
    <>
      <h1>Traces</h1>
      <form className="filters" aria-label="Trace filters" onSubmit={filters.submit}>
        {filters.service('service')}
        {filters.choice('status', 'Status', ['error', 'ok'])}
        {filters.text('min_ms', 'Min duration (ms)')}
        {filters.text('attribute', 'Attribute (key=value)')}
        {filters.text('correlation_id', 'Correlation id')}
        {filters.text('q', 'Span name')}
        <button type="submit">Find traces</button>
      </form>
      <ProblemMessage error={traces.error} title="Traces are unavailable" />
      {traces.data ? (
        <p className="note">
          {traces.data.traces.length} shown of {traces.data.store.traces} kept (
          {Math.round(traces.data.store.bytes / 1e6)} MB); searched in {traces.data.took_ms.toFixed(1)} ms.
          Every trace with an error or over the latency threshold is kept, and a share of the rest.
        </p>
      ) : null}
      {selected ? (
        <section aria-label="Trace">
          <ProblemMessage error={detail.error} title="This trace is unavailable" />
          {detail.data ? (
            <>
              <h2>
                Trace {selected.slice(0, 12)}… · {detail.data.summary.root_service}:{' '}
                {detail.data.summary.root_name} · {detail.data.summary.duration_ms.toFixed(1)} ms
              </h2>
              <p>
                <Link href={`/logs?trace_id=${selected}`}>Logs of this trace</Link>
                {detail.data.summary.correlation_ids[0] ? (
                  <>
                    {' '}
                    ·{' '}
                    <Link
                      href={`/logs?correlation_id=${encodeURIComponent(detail.data.summary.correlation_ids[0])}`}
                    >
                      Logs of its correlation id
                    </Link>
                  </>
                ) : null}
              </p>
              <Waterfall detail={detail.data} />
            </>
          ) : null}
        </section>
      ) : null}
      <table aria-label="Traces">
        <thead>
          <tr>
            <th scope="col">Started</th>
            <th scope="col">Root</th>
            <th scope="col">Duration</th>
            <th scope="col">Spans</th>
            <th scope="col">Services</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {traces.data?.traces.map((trace) => (
            <tr key={trace.trace_id} className={trace.error ? 'error' : ''}>
              <td>{new Date(trace.start_ms).toLocaleTimeString()}</td>
              <td>
                <Link href={`/traces/${trace.trace_id}?${params.toString()}`}>
                  {trace.root_service}: {trace.root_name}
                </Link>
              </td>
              <td>{trace.duration_ms.toFixed(1)} ms</td>
              <td>{trace.span_count}</td>
              <td>{trace.services.join(', ')}</td>
              <td className={trace.error ? 'log-error' : ''}>
                {trace.error ? `error in ${trace.error_services.join(', ')}` : 'ok'} ({trace.kept_because})
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
