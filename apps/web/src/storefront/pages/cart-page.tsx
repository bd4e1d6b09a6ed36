import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link } from 'wouter';
import { edge, unwrap } from '../../shared/edge-client.ts';
import { money } from '../../shared/money.ts';
import { ProblemMessage } from '../../shared/problem-message.tsx';
import { useSession } from '../../shared/session.ts';
import { cart, useCart } from '../cart-store.ts';

/** The cart with a live quote: this shopper's prices, every discount that applies, stock per line. */
export function CartPage() {
  const lines = useCart();
  const session = useSession();
  const items = lines.map((line) => ({ sku: line.sku, quantity: line.quantity }));
  const quote = useQuery({
    queryKey: ['cart', items, session?.userId],
    queryFn: () => unwrap(edge.POST('/api/storefront/cart', { body: { items } })),
    enabled: items.length > 0,
    placeholderData: keepPreviousData,
  });
  if (lines.length === 0)
    return (
      <>
        <h1>Your cart</h1>
        <p>
          Your cart is empty. <Link href="/">Browse the shop</Link>
        </p>
      </>
    );
  const priced = quote.data?.quote;
  const currency = priced?.currency ?? 'EUR';
  const discounts = priced?.lines.flatMap((line) => line.discounts) ?? [];
  return (
    <>
      <h1>Your cart</h1>
      <ProblemMessage error={quote.error} title="Prices could not be worked out" />
      <table aria-label="Cart">
        <thead>
          <tr>
            <th scope="col">Product</th>
            <th scope="col">Quantity</th>
            <th scope="col">Price</th>
            <th scope="col">Stock</th>
          </tr>
        </thead>
        <tbody>
          {lines.map((line) => {
            const pricedLine = priced?.lines.find((candidate) => candidate.sku === line.sku);
            const stock = quote.data?.lines?.find((candidate) => candidate.sku === line.sku);
            return (
              <tr key={line.sku}>
                <th scope="row">{line.name}</th>
                <td>
                  <label>
                    <span className="visually-hidden">Quantity of {line.name}</span>
                    <input
                      type="number"
                      min={0}
                      max={99}
                      value={line.quantity}
                      onChange={(event) => cart.setQuantity(line.sku, Number(event.target.value))}
                    />
                  </label>
                </td>
                <td>{pricedLine ? money(pricedLine.total_minor, currency) : '…'}</td>
                <td>{stock ? (stock.in_stock ? 'In stock' : `Only ${stock.available} left`) : '…'}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {priced ? (
        <dl className="totals" aria-label="Totals">
          <dt>Subtotal</dt>
          <dd>{money(priced.subtotal_minor, currency)}</dd>
          {discounts.map((discount) => (
            <div key={`${discount.discount_id}-${discount.amount_minor}`} className="discount">
              <dt>Discount: {discount.description}</dt>
              <dd>−{money(discount.amount_minor, currency)}</dd>
            </div>
          ))}
          <dt>Total</dt>
          <dd>
            <strong>{money(priced.total_minor, currency)}</strong>
          </dd>
        </dl>
      ) : null}
      {priced?.segment_unavailable ? (
        <p className="note" role="status">
          Member prices could not be checked right now; you see list prices.
        </p>
      ) : null}
      <Link href="/checkout" className="button">
        Checkout
      </Link>
    </>
  );
}
