import { useQuery } from '@tanstack/react-query';
import { Link } from 'wouter';
import { edge, unwrap } from '../../shared/edge-client.ts';
import { money } from '../../shared/money.ts';
import { ProblemMessage } from '../../shared/problem-message.tsx';
import { useSession } from '../../shared/session.ts';

interface Summary {
  order_id: string;
  status: string;
  total_minor: number;
  currency: string;
  placed_at: string;
  item_count: number;
}

/** My orders, newest first, from the order-view read model. */
export function OrdersPage() {
  const session = useSession();
  const orders = useQuery({
    queryKey: ['my-orders'],
    queryFn: () => unwrap(edge.GET('/api/orders', { params: { query: { page_size: 20 } } })),
    enabled: session !== null,
    refetchInterval: 5_000,
  });
  if (!session) return <p>Please sign in to see your orders.</p>;
  const list = (orders.data as { orders?: Summary[] } | undefined)?.orders ?? [];
  return (
    <>
      <h1>My orders</h1>
      <ProblemMessage error={orders.error} title="Your orders could not be loaded" />
      {orders.isSuccess && list.length === 0 ? <p>No orders yet.</p> : null}
      <ul aria-label="My orders">
        {list.map((order) => (
          <li key={order.order_id}>
            <Link href={`/orders/${order.order_id}`}>{order.order_id}</Link> · {order.status} ·{' '}
            {money(order.total_minor, order.currency)} · {new Date(order.placed_at).toLocaleString()}
          </li>
        ))}
      </ul>
    </>
  );
}
