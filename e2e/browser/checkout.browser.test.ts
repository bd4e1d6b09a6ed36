import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { providerKnobs } from './support/admin-api.ts';
import {
  type BrowserSession,
  expectEventually,
  expectVisible,
  openBrowser,
  screenshot,
} from './support/browser.ts';
import { addToCart, checkout, registerInBrowser } from './support/shop-actions.ts';

const skipReason = inject('skipReason');

describe.skipIf(skipReason !== '')(`checkout${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let browser: BrowserSession;

  beforeAll(async () => {
    browser = await openBrowser(inject('gateway'));
    await registerInBrowser(browser.page, 'Dee Double', `checkout-${Date.now()}@mercato.test`);
  });
  afterEach(async () => {
    await providerKnobs({ decline_rate: 0 });
  });
  afterAll(async () => {
    await browser?.close();
  });

  /** The signed-in shopper's orders as order-view lists them. */
  const myOrders = () =>
    browser.page.evaluate(async () => {
      const storage = (globalThis as unknown as { localStorage: { getItem: (key: string) => string | null } })
        .localStorage;
      const session = JSON.parse(storage.getItem('mercato.session') ?? '{}') as { accessToken: string };
      const response = await fetch('/api/orders?page_size=50', {
        headers: { authorization: `Bearer ${session.accessToken}` },
      });
      return ((await response.json()) as { orders?: { order_id: string; status: string }[] }).orders ?? [];
    });

  it('a double-clicked "Place order" places one order', async () => {
    const { page } = browser;
    const posts: string[] = [];
    page.on('request', (request) => {
      if (request.method() === 'POST' && new URL(request.url()).pathname === '/api/orders')
        posts.push(request.headers()['idempotency-key'] ?? '');
    });
    await addToCart(page, 'kettle', 'Home Pour-Over Kettle');
    await checkout(page, '2 Double Click Lane');
    await page.getByRole('button', { name: 'Place order' }).dblclick();
    await expectVisible(
      page.getByRole('heading', { name: /^Order ord_/ }),
      'the order page after a double click',
    );
    const heading = await page.getByRole('heading', { name: /^Order ord_/ }).textContent();
    const orderId = (heading ?? '').replace('Order ', '');
    await screenshot(page, 'checkout-double-click');
    // Whatever reached the edge carried one key, and order-view holds exactly one order.
    expect(new Set(posts).size, `idempotency keys sent: ${JSON.stringify(posts)}`).toBe(1);
    const orders = await expectEventually(
      myOrders,
      (list) => list.some((order) => order.order_id === orderId),
      `order ${orderId} in my orders`,
      20_000,
    );
    expect(orders.map((order) => order.order_id)).toEqual([orderId]);
  });

  it('a declined payment says why', async () => {
    const { page } = browser;
    await providerKnobs({ decline_rate: 1 });
    await addToCart(page, 'kettle', 'Pro Pour-Over Kettle');
    await checkout(page, '3 Declined Road');
    await page.getByRole('button', { name: 'Place order' }).click();
    await expectVisible(page.getByRole('heading', { name: /^Order ord_/ }), 'the order page');
    await expectVisible(
      page.getByRole('alert').filter({ hasText: 'Your payment was declined by the payment provider' }),
      'the declined payment explained on the order page',
      30_000,
    );
    await expectVisible(page.getByTestId('order-status').getByText('cancelled'), 'the order cancelled');
    await screenshot(page, 'checkout-declined');
  });
});
