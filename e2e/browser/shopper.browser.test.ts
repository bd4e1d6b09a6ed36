import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  type BrowserSession,
  expectEventually,
  expectVisible,
  openBrowser,
  screenshot,
} from './support/browser.ts';
import { addToCart, checkout, registerInBrowser } from './support/shop-actions.ts';

const skipReason = inject('skipReason');

describe.skipIf(skipReason !== '')(
  `a shopper in the storefront${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    let browser: BrowserSession;

    beforeAll(async () => {
      browser = await openBrowser(inject('gateway'));
    });
    afterAll(async () => {
      await browser?.close();
    });

    it('registers, searches, adds two products, sees the discount, checks out, watches the order reach delivered live, and reads the mails', async () => {
      const { page } = browser;
      const email = `shopper-${Date.now()}@mercato.test`;
      await registerInBrowser(page, 'Sam Shopper', email);
      await screenshot(page, 'storefront-catalog');

      // Two outdoor products: the category's 10 % discount applies to both lines.
      await addToCart(page, 'tent', 'Ultralight Two-Person Tent');
      await addToCart(page, 'sleeping bag', 'Expedition Down Sleeping Bag');
      await page.getByRole('link', { name: /Cart \(2\)/ }).click();
      const totals = page.getByRole('definition').or(page.getByRole('term'));
      await expectVisible(
        page.getByText('Discount: Outdoor: 10 % off'),
        'the outdoor discount in the cart totals',
      );
      expect(await page.getByText('Discount: Outdoor: 10 % off').count()).toBe(2);
      expect(await totals.count()).toBeGreaterThan(4);
      await screenshot(page, 'storefront-cart');

      await page.getByRole('link', { name: 'Checkout' }).click();
      await checkout(page, '1 Main St, Springfield');
      await page.getByRole('button', { name: 'Place order' }).click();
      await expectVisible(
        page.getByRole('heading', { name: /^Order ord_/ }),
        'the order page after checkout',
      );
      // A marker that a reload would wipe: the statuses below must arrive over the open page.
      await page.evaluate(() => {
        (globalThis as unknown as { stillTheSamePage: boolean }).stillTheSamePage = true;
      });
      const progress = page.getByRole('list', { name: 'Order progress' });
      for (const status of ['confirmed', 'shipped', 'delivered'])
        await expectEventually(
          () => progress.getByText(status, { exact: false }).first().getAttribute('class'),
          (value) => value?.includes('done') === true,
          `the order's timeline to reach ${status} without a reload`,
          30_000,
        );
      await expectVisible(
        page.getByTestId('order-status').getByText('delivered'),
        'the status to read delivered',
      );
      expect(
        await page.evaluate(() => (globalThis as unknown as { stillTheSamePage?: boolean }).stillTheSamePage),
      ).toBe(true);
      await expectVisible(
        page.getByText(/Parcel delivered, tracking number TRK/),
        'the parcel delivered with its tracking number',
      );
      await expectVisible(
        page.getByRole('listitem').filter({ hasText: 'OrderDelivered' }),
        'OrderDelivered in the event history',
      );
      await screenshot(page, 'storefront-order');

      await page.getByRole('link', { name: 'Notifications' }).click();
      const mails = page.getByRole('list', { name: 'Mails' }).getByRole('listitem');
      await expectEventually(
        () => mails.count(),
        (count) => count >= 3,
        'three mails: confirmed, dispatched, delivered',
        30_000,
      );
      const kinds = await mails.allInnerTexts();
      for (const kind of ['order.confirmed', 'shipment.dispatched', 'shipment.delivered'])
        expect(
          kinds.some((text) => text.includes(kind)),
          `a ${kind} mail in ${JSON.stringify(kinds)}`,
        ).toBe(true);
      await screenshot(page, 'storefront-notifications');
    });
  },
);
