import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useSearchParams } from 'wouter';
import { edge, unwrap } from '../../shared/edge-client.ts';
import { money } from '../../shared/money.ts';
import { ProblemMessage } from '../../shared/problem-message.tsx';
import { useSession } from '../../shared/session.ts';
import { cart } from '../cart-store.ts';

/** The catalog: search, this shopper's prices and live stock, add to cart; recommendations when signed in. */
export function CatalogPage() {
  const [params, setParams] = useSearchParams();
  const q = params.get('q') ?? '';
  const [text, setText] = useState(q);
  const session = useSession();
  const products = useQuery({
    queryKey: ['products', q, session?.userId],
    queryFn: () =>
      unwrap(
        edge.GET('/api/storefront/products', {
          params: { query: { page: 1, page_size: 24, ...(q ? { q } : {}) } },
        }),
      ),
    refetchInterval: 15_000,
  });
  const [added, setAdded] = useState<string | null>(null);

  return (
    <>
      <search>
        <form
          className="search"
          onSubmit={(event) => {
            event.preventDefault();
            setParams(text ? { q: text } : {});
          }}
        >
          <label htmlFor="q">Search products</label>
          <input id="q" type="search" value={text} onChange={(event) => setText(event.target.value)} />
          <button type="submit">Search</button>
        </form>
      </search>
      <h1>{q ? `Results for “${q}”` : 'All products'}</h1>
      {added ? (
        <p role="status" className="note">
          Added {added} to your cart. <Link href="/cart">Go to cart</Link>
        </p>
      ) : null}
      <ProblemMessage error={products.error} title="The catalog could not be loaded" />
      {products.isPending ? <p role="status">Loading products…</p> : null}
      {products.data && products.data.degraded.length > 0 ? (
        <p role="status" className="note">
          Some details are unavailable right now ({products.data.degraded.map((part) => part.part).join(', ')}
          ): prices or stock may be missing.
        </p>
      ) : null}
      {products.data?.items.length === 0 ? <p>No products match “{q}”.</p> : null}
      <ul className="grid" aria-label="Products">
        {products.data?.items.map((product) => (
          <li key={product.id}>
            <article aria-label={product.name} className="card">
              <h2>
                <Link href={`/products/${product.id}`}>{product.name}</Link>
              </h2>
              <p className="sku">{product.sku}</p>
              {product.price ? (
                <p className="price">
                  {product.price.price_minor < product.price.unit_price_minor ? (
                    <>
                      <del>{money(product.price.unit_price_minor, product.price.currency)}</del>{' '}
                    </>
                  ) : null}
                  <strong>{money(product.price.price_minor, product.price.currency)}</strong>
                  {product.price.discounts.map((discount) => (
                    <span key={discount} className="badge">
                      {discount}
                    </span>
                  ))}
                </p>
              ) : (
                <p className="price">Price unavailable</p>
              )}
              <p className="stock">
                {product.stock
                  ? product.stock.in_stock
                    ? `In stock (${product.stock.available})`
                    : 'Out of stock'
                  : 'Stock unavailable'}
              </p>
              <button
                type="button"
                disabled={product.stock?.in_stock === false}
                aria-label={`Add ${product.name} to cart`}
                onClick={() => {
                  cart.add(product.sku, product.name);
                  setAdded(product.name);
                }}
              >
                Add to cart
              </button>
            </article>
          </li>
        ))}
      </ul>
      {session ? <Recommendations /> : null}
    </>
  );
}

function Recommendations() {
  const recommended = useQuery({
    queryKey: ['recommendations'],
    queryFn: () => unwrap(edge.GET('/api/recommendations', { params: { query: { limit: 5 } } })),
  });
  const items = (recommended.data as { items?: { sku: string; reason: string }[] } | undefined)?.items ?? [];
  return (
    <section aria-label="Recommended for you">
      <h2>Recommended for you</h2>
      <ProblemMessage error={recommended.error} title="Recommendations are unavailable" />
      {items.length === 0 && recommended.isSuccess ? <p>Nothing yet: order something first.</p> : null}
      <ul>
        {items.map((item) => (
          <li key={item.sku}>
            <Link href={`/?q=${encodeURIComponent(item.sku)}`}>{item.sku}</Link> (
            {item.reason.replaceAll('_', ' ')})
          </li>
        ))}
      </ul>
    </section>
  );
}
