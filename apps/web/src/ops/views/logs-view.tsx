import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useSearchParams } from 'wouter';
import { ProblemMessage } from '../../shared/problem-message.tsx';
import { ops } from '../ops-api.ts';
import type { LogLine } from '../ops-types.ts';
import { useSince } from '../time-range.ts';
import { useProcesses } from './topology-view.tsx';

const filterNames = ['service', 'level', 'q', 'correlation_id', 'trace_id'] as const;

/** The merged logs of every process, searchable, over the console's time range. */
export function LogsView() {
  const [params, setParams] = useSearchParams();
  const since = useSince();
  const processes = useProcesses();
  const [draft, setDraft] = useState<Record<string, string>>(() =>
    Object.fromEntries(filterNames.map((name) => [name, params.get(name) ?? ''])),
  );
  const query = new URLSearchParams();
  for (const name of filterNames) {
    const value = params.get(name);
    if (value) query.set(name, value);
  }
  if (since !== undefined) query.set('since', String(Math.floor(since / 10_000) * 10_000));
  query.set('limit', '300');
  const logs = useQuery({
    queryKey: ['logs', query.toString()],
    queryFn: () => ops<{ lines: LogLine[]; store: { lines: number } }>(`logs?${query.toString()}`),
    refetchInterval: 3_000,
  });
  const text = (name: (typeof filterNames)[number], label: string) => (
    <label>
      {label}{' '}
      <input
        value={draft[name] ?? ''}
        onChange={(event) => setDraft({ ...draft, [name]: event.target.value })}
      />
    </label>
  );
  return (
    <>
      <h1>Logs</h1>
      <form
        className="filters"
        aria-label="Log filters"
        onSubmit={(event) => {
          event.preventDefault();
          setParams(Object.fromEntries(Object.entries(draft).filter(([, value]) => value !== '')));
        }}
      >
        <label>
          Service{' '}
          <select
            value={draft.service ?? ''}
            onChange={(event) => setDraft({ ...draft, service: event.target.value })}
          >
            <option value="">any</option>
            <option>supervisor</option>
            {processes.data?.processes.map((process) => (
              <option key={process.name}>{process.name}</option>
            ))}
          </select>
        </label>
        <label>
          Level at least{' '}
          <select
            value={draft.level ?? ''}
            onChange={(event) => setDraft({ ...draft, level: event.target.value })}
          >
            <option value="">any</option>
            {['debug', 'info', 'warn', 'error'].map((level) => (
              <option key={level}>{level}</option>
            ))}
          </select>
        </label>
        {text('q', 'Text')}
        {text('correlation_id', 'Correlation id')}
        {text('trace_id', 'Trace id')}
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
