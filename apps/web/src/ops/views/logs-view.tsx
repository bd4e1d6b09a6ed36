import { useQuery } from '@tanstack/react-query';
import { Link } from 'wouter';
import { ProblemMessage } from '../../shared/problem-message.tsx';
import { ops } from '../ops-api.ts';
import type { LogLine } from '../ops-types.ts';
import { useSearchFilters } from '../search-filters.tsx';
import { useSince } from '../time-range.ts';

const filterNames = ['service', 'level', 'q', 'correlation_id', 'trace_id'] as const;

/** The merged logs of every process, searchable, over the console's time range. */
export function LogsView() {
  const since = useSince();
  const filters = useSearchFilters(filterNames);
  const { query } = filters;
  if (since !== undefined) query.set('since', String(Math.floor(since / 10_000) * 10_000));
  query.set('limit', '300');
  const logs = useQuery({
    queryKey: ['logs', query.toString()],
    queryFn: () => ops<{ lines: LogLine[]; store: { lines: number } }>(`logs?${query.toString()}`),
    refetchInterval: 3_000,
  });
  return (
    <>
      <h1>Logs</h1>
      <form className="filters" aria-label="Log filters" onSubmit={filters.submit}>
        {filters.service('service', ['supervisor'])}
        {filters.choice('level', 'Level at least', ['debug', 'info', 'warn', 'error'])}
        {filters.text('q', 'Text')}
        {filters.text('correlation_id', 'Correlation id')}
        {filters.text('trace_id', 'Trace id')}
        <button type="submit">Search logs</button>
      </form>
      <ProblemMessage error={logs.error} title="Logs are unavailable" />
      {logs.data ? (
        <p className="note">
          {logs.data.lines.length} lines shown of {logs.data.store.lines} kept.
        </p>
      ) : null}
      <table aria-label="Log lines">
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Service</th>
            <th scope="col">Level</th>
            <th scope="col">Message</th>
            <th scope="col">Trace</th>
          </tr>
        </thead>
        <tbody>
          {logs.data?.lines.map((line) => (
            <tr key={line.seq} className={`log-${line.level}`}>
              <td>{new Date(line.time_ms).toLocaleTimeString()}</td>
              <td>{line.service}</td>
              <td>{line.level}</td>
              <td title={line.line}>{line.message || line.line.slice(0, 200)}</td>
              <td>
                {line.trace_id ? (
                  <Link href={`/traces/${line.trace_id}`}>{line.trace_id.slice(0, 8)}…</Link>
                ) : (
                  '–'
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
