import { demoAdmin } from '@mercato/demo-shop';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  type BrowserSession,
  expectEventually,
  expectVisible,
  openBrowser,
  screenshot,
} from './support/browser.ts';
import { signInInBrowser } from './support/shop-actions.ts';

const skipReason = inject('skipReason');

describe.skipIf(skipReason !== '')(
  `the ops console under a fault${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    let browser: BrowserSession;

    beforeAll(async () => {
      browser = await openBrowser(inject('gateway'));
      await signInInBrowser(browser.page, '/ops', demoAdmin.email, demoAdmin.password);
      await expectVisible(
        browser.page.getByRole('table', { name: 'Processes' }),
        'the topology after the admin signs in',
      );
    });
    afterAll(async () => {
      await browser?.close();
    });

    it('an admin kills inventory from the console, watches it and its callers’ breakers change and recover, and finds a failed call’s trace and its logs', async () => {
      const { page } = browser;
      const gateway = inject('gateway');
      const row = (table: string, name: string) =>
        page.getByRole('table', { name: table }).getByRole('row', { name });
      const inventory = row('Processes', 'inventory');
      await expectVisible(inventory.getByRole('cell', { name: 'ready' }), 'inventory ready before the kill');
      // A shopper looks at stock: the gateway's client for inventory (and its breaker) is in use.
      expect((await fetch(`${gateway}/api/inventory/stock/OUT-0001`)).status).toBe(200);
      const breaker = row('Breakers', 'gateway → inventory');
      await expectVisible(breaker, 'the gateway’s breaker for inventory', 20_000);
      const openedBefore = Number(await breaker.getByRole('cell').nth(1).textContent());
      await screenshot(page, 'ops-topology');

      // Eight shoppers keep asking for stock while inventory is down. Inventory restarts in well
      // under a second, and a request that meets a refused connection waits for it (the reconnect
      // loop makes three or four attempts in that time): one shopper alone may not fail the five
      // attempts that open the breaker before inventory is back.
      let asking = true;
      const failures: number[] = [];
      const shopper = async () => {
        while (asking) {
          const response = await fetch(`${gateway}/api/inventory/stock/OUT-0001`).catch(() => undefined);
          if (response && response.status >= 500) failures.push(response.status);
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
      };
      const load = Promise.all(Array.from({ length: 8 }, shopper));

      await page.getByRole('link', { name: 'Faults' }).click();
      await page.getByRole('button', { name: 'Kill inventory' }).click();
      await expectVisible(
        page.getByRole('status').filter({ hasText: 'kill inventory: sent' }),
        'the kill acknowledged',
      );
      await page.getByRole('link', { name: 'Topology' }).click();
      await expectEventually(
        () => inventory.getByRole('cell').nth(2).textContent(),
        (restarts) => restarts === '1',
        'inventory restarted once by the supervisor',
        20_000,
      );
      await expectVisible(inventory.getByRole('cell', { name: 'ready' }), 'inventory ready again', 20_000);
      await expectEventually(
        async () => [
          await breaker.getByRole('cell').nth(0).textContent(),
          Number(await breaker.getByRole('cell').nth(1).textContent()),
        ],
        ([state, opened]) => state === 'closed' && Number(opened) > openedBefore,
        'the gateway’s breaker for inventory to have opened and be closed again',
        20_000,
      );
      asking = false;
      await load;
      await screenshot(page, 'ops-topology-after-kill');
      // A short restart is meant to show as latency: the failed calls are the gateway's attempts.
      console.log(`requests answered 5xx while inventory restarted: ${failures.length}`);

      await page.getByRole('link', { name: 'Traces' }).click();
      await page.getByLabel('Service').selectOption('gateway');
      await page.getByLabel('Status').selectOption('error');
      await page.getByLabel('Span name').fill('InventoryService');
      await page.getByRole('button', { name: 'Find traces' }).click();
      const failed = page.getByRole('table', { name: 'Traces' }).getByRole('link', { name: /stock/ });
      await expectVisible(failed, 'a failed stock request among the traces', 20_000);
      await failed.first().click();
      const waterfall = page.getByRole('table', { name: 'Waterfall' });
      await expectVisible(
        waterfall.getByText('✕ error').first(),
        'the failed inventory call in the waterfall',
      );
      await expectVisible(waterfall.getByText('critical').first(), 'the critical path marked');
      await screenshot(page, 'ops-trace');

      await page.getByRole('link', { name: 'Logs of this trace' }).click();
      const lines = page.getByRole('table', { name: 'Log lines' }).getByRole('row');
      await expectEventually(
        () => lines.count(),
        (count) => count > 1,
        'log lines of the failed call’s trace',
      );
      const services = await page.getByRole('table', { name: 'Log lines' }).getByRole('cell').allInnerTexts();
      expect(services).toContain('gateway');
      await screenshot(page, 'ops-logs');
    });
  },
);
