import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { Link, Route, Switch } from 'wouter';
import '../shared/styles.css';
import { signOut, useSession } from '../shared/session.ts';
import { useCart } from './cart-store.ts';
import { CartPage } from './pages/cart-page.tsx';
import { CatalogPage } from './pages/catalog-page.tsx';
import { CheckoutPage } from './pages/checkout-page.tsx';
import { NotificationsPage } from './pages/notifications-page.tsx';
import { OrderPage } from './pages/order-page.tsx';
import { OrdersPage } from './pages/orders-page.tsx';
import { ProductPage } from './pages/product-page.tsx';
import { RegisterPage, SignInPage } from './pages/sign-in-page.tsx';

const queryClient = new QueryClient({
  defaultOptions: { queries: { retry: 1, refetchOnWindowFocus: false, staleTime: 5_000 } },
});

function Header() {
  const session = useSession();
  const lines = useCart();
  const count = lines.reduce((total, line) => total + line.quantity, 0);
  return (
    <header className="top">
      <Link href="/" className="brand">
        Mercato
      </Link>
      <nav aria-label="Shop">
        <Link href="/">Shop</Link>
        <Link href="/cart">Cart ({count})</Link>
        {session ? (
          <>
            <Link href="/orders">My orders</Link>
            <Link href="/notifications">Notifications</Link>
            <span className="who">{session.name || session.email}</span>
            <button type="button" onClick={signOut}>
              Sign out
            </button>
          </>
        ) : (
          <>
            <Link href="/signin">Sign in</Link>
            <Link href="/register">Register</Link>
          </>
        )}
      </nav>
    </header>
  );
}

function App() {
  return (
    <>
      <Header />
      <main>
        <Switch>
          <Route path="/" component={CatalogPage} />
          <Route path="/search" component={CatalogPage} />
          <Route path="/products/:id">{(params) => <ProductPage id={params.id} />}</Route>
          <Route path="/cart" component={CartPage} />
          <Route path="/checkout" component={CheckoutPage} />
          <Route path="/signin" component={SignInPage} />
          <Route path="/register" component={RegisterPage} />
          <Route path="/orders" component={OrdersPage} />
          <Route path="/orders/:id">{(params) => <OrderPage id={params.id} />}</Route>
          <Route path="/notifications" component={NotificationsPage} />
          <Route>
            <h1>Not found</h1>
            <p>
              There is no such page. <Link href="/">Back to the shop</Link>
            </p>
          </Route>
        </Switch>
      </main>
    </>
  );
}

const root = document.getElementById('root');
if (root)
  createRoot(root).render(
    <StrictMode>
      <QueryClientProvider client={queryClient}>
        <App />
      </QueryClientProvider>
    </StrictMode>,
  );
