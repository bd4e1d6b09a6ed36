import { demoAdmin } from '@mercato/demo-shop';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type BrowserSession, expectVisible, openBrowser } from './support/browser.ts';
import { signInInBrowser } from './support/shop-actions.ts';

const skipReason = inject('skipReason');

describe.skipIf(skipReason !== '')(
  `experiments in the console${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    let browser: BrowserSession;

    beforeAll(async () => {
      browser = await openBrowser(inject('gateway'));
      await signInInBrowser(browser.page, '/ops', demoAdmin.email, demoAdmin.password);
    });
    afterAll(async () => {
      await browser?.close();
    });

    it('an admin sees pricing’s discount engine rewrite in shadow: every quote compared, none different', async () => {
      const { page } = browser;
      // Three anonymous cart quotes: each priced by v1 and, in shadow, by v2.
      for (let i = 1; i <= 3; i += 1) {
        const quote = await fetch(`${inject('gateway')}/api/cart/quote`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ items: [{ sku: 'BOK-0001', quantity: i }] }),
        });
        expect(quote.status).toBe(200);
      }
      await page.getByRole('link', { name: 'Experiments' }).click();
      const row = page.getByRole('table', { name: 'Experiments' }).getByRole('row', { name: /^pricing/ });
      await expectVisible(row.getByRole('cell', { name: 'discount-engine' }), 'pricing’s experiment');
      const cells = await row.getByRole('cell').allTextContents();
      expect(cells.slice(0, 2)).toEqual(['discount-engine', 'shadow: old answers, new compared']);
      expect(Number(cells[2])).toBeGreaterThanOrEqual(3);
      expect(cells.slice(3)).toEqual(['0', '0', '0']);
      await expectVisible(page.getByText('No difference so far.'), 'an empty diff log');
    });
  },
);
