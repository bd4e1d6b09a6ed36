import { useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { edge, unwrap } from '../../shared/edge-client.ts';
import { money } from '../../shared/money.ts';
import { ProblemMessage } from '../../shared/problem-message.tsx';
import { streamEvents } from '../../shared/sse.ts';
import { cart } from '../cart-store.ts';

/** One product: its price for this shopper and its stock, live (Server-Sent Events). */
export function ProductPage({ id }: { id: string }) {
  const product = useQuery({
    queryKey: ['product', id],
    queryFn: () => unwrap(edge.GET('/api/storefront/products/{id}', { params: { path: { id } } })),
  });
  const sku = product.data?.sku;
  const [live, setLive] = useState<number | null>(null);
  const [streamProblem, setStreamProblem] = useState<string | null>(null);
  const [added, setAdded] = useState(false);
  useEffect(() => {
    if (!sku) return;
    const stop = new AbortController();
    void streamEvents(
      `/api/inventory/stock/${encodeURIComponent(sku)}/live`,
      (event) => {
        if (event.event === 'stock') setLive((JSON.parse(event.data) as { available: number }).available);
      },
      setStreamProblem,
      stop.signal,
    );
    return () => stop.abort();
  }, [sku]);

  if (product.error) return <ProblemMessage error={product.error} title="This product could not be loaded" />;
  if (!product.data) return <p role="status">Loading…</p>;
  const { name, description, price, stock } = product.data;
  const available = live ?? stock?.available ?? null;
  return (
    <article aria-label={name}>
      <h1>{name}</h1>
      <p>{description}</p>
      <p className="price">
        {price ? money(price.price_minor, price.currency) : 'Price unavailable'}
        {price?.discounts.map((discount) => (
          <span key={discount} className="badge">
            {discount}
          </span>
        ))}
      </p>
      <p className="stock" aria-live="polite">
        {available === null
          ? 'Stock unavailable'
          : available > 0
            ? `In stock (${available}, live)`
            : 'Out of stock'}
      </p>
      {streamProblem ? <p className="note">{streamProblem}</p> : null}
      <button
        type="button"
        disabled={available === 0}
        onClick={() => {
          cart.add(product.data.sku, name);
          setAdded(true);
        }}
      >
        Add to cart
      </button>
      {added ? <p role="status">Added to your cart.</p> : null}
    </article>
  );
}
