import { useMutation, useQueryClient } from '@tanstack/react-query';
import { edge, unwrap } from '../shared/edge-client.ts';
import { ProblemMessage } from '../shared/problem-message.tsx';

/**
 * Cancel an order that has not shipped. The order service answers at once: the order is
 * `cancel_pending` while fulfillment holds the parcel and payment refunds, or a 409 says why it
 * cannot be cancelled now (already shipped, or being confirmed this instant: try again).
 */
export function CancelOrder({ orderId, status }: { orderId: string; status: string }) {
  const queries = useQueryClient();
  const cancel = useMutation({
    mutationFn: () => unwrap(edge.POST('/api/orders/{id}/cancel', { params: { path: { id: orderId } } })),
    onSettled: () => queries.invalidateQueries({ queryKey: ['order', orderId] }),
  });
  if (status === 'cancel_pending')
    return (
      <p role="status">
        Your cancellation is under way: the parcel is held and your payment is being refunded.
      </p>
    );
  if (status !== 'pending' && status !== 'confirmed') return null;
  return (
    <div>
      <button type="button" onClick={() => cancel.mutate()} disabled={cancel.isPending}>
        {cancel.isPending ? 'Cancelling…' : 'Cancel this order'}
      </button>
      <ProblemMessage error={cancel.error} title="The order was not cancelled" />
    </div>
  );
}
