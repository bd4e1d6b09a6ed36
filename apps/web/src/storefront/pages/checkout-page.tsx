import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useLocation } from 'wouter';
import { edge, unwrap } from '../../shared/edge-client.ts';
import { ProblemError } from '../../shared/problem.ts';
import { ProblemMessage } from '../../shared/problem-message.tsx';
import { useSession } from '../../shared/session.ts';
import { cart, useCart } from '../cart-store.ts';

const newKey = () => `web-${crypto.randomUUID().replaceAll('-', '').slice(0, 32)}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Places the order with one idempotency key per checkout: a double click, a retry after a network
 * error or a resend while the first is in flight all carry the same key, so the shop places one order.
 */
export function CheckoutPage() {
  const session = useSession();
  const lines = useCart();
  const [, navigate] = useLocation();
  const [address, setAddress] = useState('');
  const [key] = useState(newKey);
  const place = useMutation({
    mutationFn: async () => {
      const body = {
        items: lines.map((line) => ({ sku: line.sku, quantity: line.quantity })),
        shipping_address: address,
      };
      for (let attempt = 1; ; attempt++) {
        try {
          return await unwrap(
            edge.POST('/api/orders', { body, params: { header: { 'idempotency-key': key } } }),
          );
        } catch (error) {
          // The first request with this key is still being handled: ask again for its answer.
          const inFlight = error instanceof ProblemError && error.problem.code === 'ORDER.REQUEST_IN_FLIGHT';
          if (!inFlight || attempt >= 10) throw error;
          await sleep(300);
        }
      }
    },
    onSuccess: (order) => {
      cart.clear();
      navigate(`/orders/${order.order_id}`);
    },
  });

  if (!session)
    return (
      <>
        <h1>Checkout</h1>
        <p>
          Please <Link href="/signin?next=/checkout">sign in</Link> to place your order.
        </p>
      </>
    );
  if (lines.length === 0 && !place.isPending && !place.isSuccess)
    return (
      <>
        <h1>Checkout</h1>
        <p>
          Your cart is empty. <Link href="/">Browse the shop</Link>
        </p>
      </>
    );
  return (
    <>
      <h1>Checkout</h1>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (!place.isPending) place.mutate();
        }}
      >
        <label htmlFor="address">Shipping address</label>
        <input
          id="address"
          required
          minLength={3}
          value={address}
          onChange={(event) => setAddress(event.target.value)}
        />
        <p>
          {lines.length} line{lines.length === 1 ? '' : 's'},{' '}
          {lines.reduce((total, line) => total + line.quantity, 0)} items.
        </p>
        <button type="submit" aria-disabled={place.isPending}>
          {place.isPending ? 'Placing your order…' : 'Place order'}
        </button>
      </form>
      <ProblemMessage error={place.error} title="Your order was not placed" />
    </>
  );
}
