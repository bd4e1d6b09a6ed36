import { demoAdmin } from '@mercato/demo-shop';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { mercato } from '../support/release-cli.ts';
import {
  type BrowserSession,
  expectEventually,
  expectVisible,
  openBrowser,
  screenshot,
} from './support/browser.ts';
import { signInInBrowser } from './support/shop-actions.ts';

const skipReason = inject('skipReason');

/** Runs a release through the supervisor's API (as `mercato release` does) and reads its steps to the end. */
async function release(body: Record<string, string>): Promise<string[]> {
  const response = await fetch(`${inject('supervisor')}/admin/releases`, {
    method: 'POST',
    headers: { authorization: `Bearer ${inject('adminToken')}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`release refused: ${response.status} ${text}`);
  return text
    .trim()
    .split('\n')
    .map((line) => (JSON.parse(line) as { step: string }).step);
}

describe.skipIf(skipReason !== '')(
  `instances and releases in the console${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    let browser: BrowserSession;

    beforeAll(async () => {
      browser = await openBrowser(inject('gateway'));
      await signInInBrowser(browser.page, '/ops', demoAdmin.email, demoAdmin.password);
    });
    afterAll(async () => {
      await browser?.close();
    });

    it('an admin watches a blue-green release switch catalog to v2 and rolls it back with one click', async () => {
      const { page } = browser;
      const built = await mercato(inject('dataDir'), ['build', '--label', 'v2', 'catalog']);
      expect(built.code, built.output).toBe(0);
      await page.getByRole('link', { name: 'Releases' }).click();
      const row = (instance: string) =>
        page.getByRole('table', { name: 'Instances' }).getByRole('row', { name: instance, exact: true });
      const cells = async (instance: string) =>
        (await row(instance).getByRole('cell').allTextContents()).slice(1);
      /** Waits for one refresh of the view showing `active` serving and `standby` standing by. */
      const expectSettled = async (active: string, standby: string, expected: string) => {
        const roles = async () => [(await cells(active))[1], (await cells(standby))[1]];
        await expectEventually(
          roles,
          ([activeRole, standbyRole]) => activeRole === 'active' && standbyRole === 'standby',
          expected,
        );
      };
      await expectVisible(row('catalog'), 'catalog in the instances table');
      expect(await cells('catalog')).toEqual([
        expect.stringMatching(/^current@[0-9a-f]{12}$/),
        'active',
        '100 %',
        'ready',
        '',
      ]);
      await expectVisible(page.getByText('No release has run on this platform yet.'), 'no release steps yet');

      const steps = await release({ service: 'catalog', strategy: 'blue-green', to: 'v2' });
      expect(steps.at(-1)).toBe('released');
      // Within the view's refresh: green serves every call, blue stands by with a rollback at hand.
      // A refresh taken during the switch shows both active (green takes its role before blue gives
      // its up, the overlap the inboxes make safe), so the view is read until it has settled.
      await expectSettled('catalog-v2-1', 'catalog', 'green active and blue standing by');
      expect(await cells('catalog-v2-1')).toEqual([
        expect.stringMatching(/^v2@[0-9a-f]{12}$/),
        'active',
        '100 %',
        'ready',
        '',
      ]);
      expect((await cells('catalog')).slice(1, 3)).toEqual(['standby', '0 %']);
      const stepsTable = page.getByRole('table', { name: 'Release steps' });
      await expectVisible(
        stepsTable.getByRole('cell', { name: 'switched' }),
        'the switch among the release steps',
      );
      await screenshot(page, 'ops-releases-blue-green');

      await page.getByRole('button', { name: 'Roll back catalog' }).click();
      await expectVisible(
        page.getByRole('status').getByText(/catalog rolled back in \d+ ms: catalog active/),
        'the rollback done',
      );
      await expectSettled('catalog', 'catalog-v2-1', 'blue active again and green standing by');
      expect((await cells('catalog')).slice(1, 3)).toEqual(['active', '100 %']);
      expect((await cells('catalog-v2-1')).slice(1, 3)).toEqual(['standby', '0 %']);
      await expectVisible(
        stepsTable.getByRole('cell', { name: /rolled back in \d+ ms/ }),
        'the rollback among the steps',
      );
      // The shop still answers through the gateway on blue.
      expect((await fetch(`${inject('gateway')}/api/catalog/products?page_size=1`)).status).toBe(200);
      await screenshot(page, 'ops-releases-rolled-back');
    });
  },
);
