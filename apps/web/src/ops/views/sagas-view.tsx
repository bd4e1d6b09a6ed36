import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'wouter';
import { edge, unwrap } from '../../shared/edge-client.ts';
import { ProblemMessage } from '../../shared/problem-message.tsx';
import { serviceAdmin } from '../ops-api.ts';

interface SagaRow {
  saga_id: string;
  saga_type: string;
  status: string;
  reason: string | null;
  updated_at: string;
}

interface HistoryEntry {
  at: string;
  input: string;
  outcome: string;
  status: string;
  detail: unknown;
  requestId?: string | null;
  request_id?: string | null;
}

interface SagaDetail {
  type: string;
  waiting_on: string | null;
  state: Record<string, unknown>;
  history: HistoryEntry[];
  correlation_id?: string;
}

interface Sent {
  type?: string;
  request_id?: string;
}

const sentOf = (entry: HistoryEntry): Sent[] => {
  const sent = (entry.detail as { sent?: unknown } | null)?.sent;
  return Array.isArray(sent) ? (sent as Sent[]) : [];
};
const reasonOf = (entry: HistoryEntry): string | undefined => {
  const reason = (entry.detail as { reason?: unknown } | null)?.reason;
  return typeof reason === 'string' ? reason : undefined;
};

/** A timeline entry's kind, for its mark: a timeout, a compensation, a failure, or a step forward. */
const kindOf = (entry: HistoryEntry): string => {
  const text =
    `${entry.input} ${entry.outcome} ${entry.status} ${JSON.stringify(entry.detail ?? '')}`.toLowerCase();
  if (text.includes('timeout') || text.includes('timed_out')) return 'timeout';
  if (
    sentOf(entry).some((command) => command.request_id?.includes('compensate')) ||
    entry.status.startsWith('compensat')
  )
    return 'compensate';
  if (text.includes('fail') || text.includes('declin') || text.includes('stuck')) return 'failure';
  return 'step';
};

/** Sagas by status (any status order reports, stuck included), and one saga's history as a timeline. */
export function SagasView({ selected }: { selected?: string }) {
  const [status, setStatus] = useState('');
  const sagas = useQuery({
    queryKey: ['sagas'],
    queryFn: () => serviceAdmin<{ items: SagaRow[] }>('order', 'sagas?limit=200'),
    refetchInterval: 3_000,
  });
  const detail = useQuery({
    queryKey: ['saga', selected],
    queryFn: () => serviceAdmin<SagaDetail>('order', `sagas/${encodeURIComponent(selected ?? '')}`),
    enabled: selected !== undefined,
    refetchInterval: 3_000,
  });
  const rows = sagas.data?.items ?? [];
  const statuses = [
    ...new Set([
      'running',
      'stuck',
      'compensating',
      'compensated',
      'failed',
      'completed',
      ...rows.map((row) => row.status),
    ]),
  ];
  const shown = rows.filter((row) => status === '' || row.status === status);
  const first = detail.data?.history[0];
  const startMs = first ? Date.parse(first.at) : 0;
  return (
    <>
      <h1>Sagas</h1>
      <fieldset className="filters">
        <legend>Saga status</legend>
        <button type="button" className={status === '' ? '' : 'secondary'} onClick={() => setStatus('')}>
          all ({rows.length})
        </button>
        {statuses.map((name) => (
          <button
            key={name}
            type="button"
            className={status === name ? '' : 'secondary'}
            onClick={() => setStatus(name)}
          >
            {name} ({rows.filter((row) => row.status === name).length})
          </button>
        ))}
      </fieldset>
      <ProblemMessage error={sagas.error} title="Sagas are unavailable (is order up?)" />
      {selected ? (
        <section aria-label="Saga timeline">
          <h2>
            Saga {selected} ({detail.data?.type ?? '…'})
          </h2>
          <ProblemMessage error={detail.error} />
          {detail.data ? (
            <>
              <p>
                Waiting on: {detail.data.waiting_on ?? 'nothing'} · Order{' '}
                <Link href={`/logs?q=${encodeURIComponent(selected.split('.')[0] ?? selected)}`}>logs</Link> ·{' '}
                {detail.data.correlation_id ? (
                  <Link href={`/traces?correlation_id=${encodeURIComponent(detail.data.correlation_id)}`}>
                    its traces
                  </Link>
                ) : (
                  <Link href={`/traces?service=order&since=${startMs - 2_000}&until=${startMs + 5_000}`}>
                    traces of order when it started
                  </Link>
                )}
              </p>
              <OrderEvents orderId={selected.split('.')[0] ?? selected} />
              <h3>History</h3>
              <ol className="timeline-list" aria-label="Saga history">
                {detail.data.history.map((entry) => (
                  <li
                    key={`${entry.at}|${entry.input}|${entry.outcome}|${entry.status}`}
                    className={kindOf(entry)}
                  >
                    <strong>+{((Date.parse(entry.at) - startMs) / 1000).toFixed(2)} s</strong> {entry.input}
                    {entry.outcome === 'applied' ? '' : ` (${entry.outcome})`} → saga {entry.status}
                    {sentOf(entry).map((command) => (
                      <div key={command.request_id ?? command.type}>
                        {command.request_id?.includes('compensate') ? 'compensates with' : 'sends'}{' '}
                        <code>{command.type}</code> <span className="sku">{command.request_id}</span>
                      </div>
                    ))}
                    {reasonOf(entry) ? <div>reason: {reasonOf(entry)}</div> : null}
                    <details>
                      <summary>detail</summary>
                      <pre className="json">{JSON.stringify(entry.detail, null, 2)}</pre>
                    </details>
                  </li>
                ))}
              </ol>
              <details>
                <summary>State</summary>
                <pre className="json">{JSON.stringify(detail.data.state, null, 2)}</pre>
              </details>
            </>
          ) : null}
        </section>
      ) : null}
      <table aria-label="Sagas">
        <thead>
          <tr>
            <th scope="col">Saga</th>
            <th scope="col">Type</th>
            <th scope="col">Status</th>
            <th scope="col">Reason</th>
            <th scope="col">Updated</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((row) => (
            <tr key={row.saga_id}>
              <td>
                <Link href={`/sagas/${encodeURIComponent(row.saga_id)}`}>{row.saga_id}</Link>
              </td>
              <td>{row.saga_type}</td>
              <td>{row.status}</td>
              <td>{row.reason ?? '–'}</td>
              <td>{new Date(row.updated_at).toLocaleTimeString()}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

/** The order the saga works on, as its event stream tells it (an admin may read any order at the edge). */
function OrderEvents({ orderId }: { orderId: string }) {
  const events = useQuery({
    queryKey: ['admin-order-events', orderId],
    queryFn: () => unwrap(edge.GET('/api/orders/{id}/events', { params: { path: { id: orderId } } })),
    retry: false,
  });
  return (
    <section aria-label="Order events">
      <h3>Order {orderId}: its events</h3>
      <ProblemMessage error={events.error} />
      <ol className="events">
        {events.data?.events.map((event) => (
          <li key={event.version}>
            {new Date(event.recorded_at).toLocaleTimeString()} {event.type}
          </li>
        ))}
      </ol>
    </section>
  );
}
