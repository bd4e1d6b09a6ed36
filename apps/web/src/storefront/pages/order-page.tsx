import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { edge, unwrap } from '../../shared/edge-client.ts';
import { money } from '../../shared/money.ts';
import { ProblemError } from '../../shared/problem.ts';
import { ProblemMessage } from '../../shared/problem-message.tsx';
import { useSession } from '../../shared/session.ts';
import { streamEvents } from '../../shared/sse.ts';
import { CancelOrder } from '../cancel-order.tsx';
import { reasonText, statusSteps } from '../order-reasons.ts';

interface Change {
  status: string;
  type: string;
  version: number;
  occurred_at: string;
  reason: string | null;
}

/**
 * One order: a live status timeline (Server-Sent Events, no reload), why it was cancelled if it
 * was, its event history, the order as it was at a chosen time, and its parcel.
 */
export function OrderPage({ id }: { id: string }) {
  const session = useSession();
  const queries = useQueryClient();
  const [changes, setChanges] = useState<Change[]>([]);
  const [streamProblem, setStreamProblem] = useState<string | null>(null);
  const [asOf, setAsOf] = useState('');
  const order = useQuery({
    queryKey: ['order', id],
    queryFn: () => unwrap(edge.GET('/api/orders/{id}', { params: { path: { id } } })),
    enabled: session !== null,
  });
  const events = useQuery({
    queryKey: ['order-events', id],
    queryFn: () => unwrap(edge.GET('/api/orders/{id}/events', { params: { path: { id } } })),
    enabled: session !== null,
  });
  const shipment = useQuery({
    queryKey: ['shipment', id],
    queryFn: () => unwrap(edge.GET('/api/orders/{id}/shipment', { params: { path: { id } } })),
    enabled: session !== null,
    retry: false,
  });
  const past = useQuery({
    queryKey: ['order', id, asOf],
    queryFn: () => unwrap(edge.GET('/api/orders/{id}', { params: { path: { id }, query: { as_of: asOf } } })),
    enabled: session !== null && asOf !== '',
  });

  useEffect(() => {
    if (!session) return;
    const stop = new AbortController();
    void streamEvents(
      `/api/orders/${encodeURIComponent(id)}/live`,
      (event) => {
        if (event.event !== 'order') return;
        const change = JSON.parse(event.data) as Change;
        setChanges((seen) => (seen.some((c) => c.version === change.version) ? seen : [...seen, change]));
        for (const key of [
          ['order', id],
          ['order-events', id],
          ['shipment', id],
        ])
          void queries.invalidateQueries({ queryKey: key, exact: true });
      },
      setStreamProblem,
      stop.signal,
    );
    return () => stop.abort();
  }, [id, session, queries]);

  if (!session) return <p>Please sign in to see your order.</p>;
  if (order.error) return <ProblemMessage error={order.error} title="This order could not be loaded" />;
  if (!order.data) return <p role="status">Loading your order…</p>;
  const current = changes.at(-1)?.status ?? order.data.status;
  const reached = new Set(changes.map((change) => change.status).concat(order.data.status));
  const reason = changes.at(-1)?.reason ?? order.data.reason;
  const shipmentMissing = shipment.error instanceof ProblemError && shipment.error.problem.status === 404;

  return (
    <>
      <h1>Order {order.data.order_id}</h1>
      <p>
        Status: <strong data-testid="order-status">{current}</strong> · total{' '}
        {money(order.data.total_minor, order.data.currency)} · to {order.data.shipping_address}
      </p>
      {streamProblem ? <p className="note">{streamProblem}</p> : null}
      <CancelOrder orderId={order.data.order_id} status={current} />
      <ol aria-label="Order progress" className="timeline">
        {statusSteps.map((step) => (
          <li
            key={step}
            aria-current={current === step ? 'step' : undefined}
            className={reached.has(step) ? 'done' : ''}
          >
            {step}
            {changes.find((change) => change.status === step)?.occurred_at
              ? ` · ${new Date(changes.find((change) => change.status === step)?.occurred_at ?? '').toLocaleTimeString()}`
              : ''}
          </li>
        ))}
        {current === 'cancelled' || current === 'failed' ? <li className="failed">{current}</li> : null}
      </ol>
      {(current === 'cancelled' || current === 'failed') && reason ? (
        <div role="alert" className="problem">
          {reasonText[reason] ?? `Cancelled: ${reason}`}
        </div>
      ) : null}

      <section aria-label="Shipment">
        <h2>Shipment</h2>
        {shipment.data ? (
          <p>
            Parcel {shipment.data.status}
            {shipment.data.tracking_number ? `, tracking number ${shipment.data.tracking_number}` : ''}
            {shipment.data.reason ? ` (${shipment.data.reason})` : ''}
          </p>
        ) : shipmentMissing ? (
          <p>Not shipped yet.</p>
        ) : (
          <ProblemMessage error={shipment.error} title="Tracking is unavailable" />
        )}
      </section>

      <section aria-label="Event history">
        <h2>Event history</h2>
        <ProblemMessage error={events.error} />
        <ol className="events">
          {events.data?.events.map((event) => (
            <li key={event.version}>
              <time dateTime={event.recorded_at}>{new Date(event.recorded_at).toLocaleTimeString()}</time>{' '}
              {event.type}
            </li>
          ))}
        </ol>
        <label htmlFor="as-of">The order as of</label>
        <select id="as-of" value={asOf} onChange={(event) => setAsOf(event.target.value)}>
          <option value="">now</option>
          {events.data?.events.map((event) => (
            <option key={event.version} value={event.recorded_at}>
              {new Date(event.recorded_at).toLocaleTimeString()} (after {event.type})
            </option>
          ))}
        </select>
        {asOf && past.data ? (
          <p role="status">
            As of {new Date(asOf).toLocaleTimeString()}: {past.data.status}
          </p>
        ) : null}
        <ProblemMessage error={past.error} />
      </section>
    </>
  );
}
