import { demoAdmin } from '@mercato/demo-shop';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { superuserClient } from '../support/platform-process.ts';
import { providerKnobs, supervisor } from './support/admin-api.ts';
import {
  type BrowserSession,
  expectEventually,
  expectVisible,
  openBrowser,
  screenshot,
} from './support/browser.ts';
import { PASSWORD, signInInBrowser } from './support/shop-actions.ts';

const skipReason = inject('skipReason');
const BLOCKED = 'Blocked Buyer';

const edge = (path: string, init: RequestInit = {}) => fetch(`${inject('gateway')}${path}`, init);
const json = (body: unknown) => ({ 'content-type': 'application/json', body: JSON.stringify(body) });

async function register(email: string, name: string): Promise<void> {
  const response = await edge('/api/auth/register', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: json({ email, password: PASSWORD, name }).body,
  });
  if (response.status !== 201)
    throw new Error(`register ${email}: ${response.status} ${await response.text()}`);
}

describe.skipIf(skipReason !== '')(
  `dead letters and sagas in the console${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    let browser: BrowserSession;

    beforeAll(async () => {
      browser = await openBrowser(inject('gateway'));
    });
    afterAll(async () => {
      await browser?.close();
    });

    it('an admin replays a dead letter once its cause is fixed, and reads a compensated saga’s timeline', async () => {
      // A fault an operator can fix: customer's table refuses one name, so the profile for that
      // registration fails on every attempt and its user.registered ends in customer's dead letters.
      const database = await superuserClient(inject('dataDir'), inject('postgresPort'), 'customer');
      try {
        await database.query(
          `ALTER TABLE customers ADD CONSTRAINT browser_test_refuses CHECK (name <> '${BLOCKED}') NOT VALID`,
        );
        const email = `blocked-${Date.now()}@mercato.test`;
        await register(email, BLOCKED);

        // Meanwhile a declined payment: its PlaceOrder saga compensates (the stock reservation is released).
        await providerKnobs({ decline_rate: 1 });
        const shopper = `saga-${Date.now()}@mercato.test`;
        await register(shopper, 'Sally Saga');
        const login = await edge('/api/auth/login', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: json({ email: shopper, password: PASSWORD }).body,
        });
        const token = ((await login.json()) as { access_token: string }).access_token;
        const placed = await expectEventually(
          async () =>
            edge('/api/orders', {
              method: 'POST',
              headers: {
                'content-type': 'application/json',
                authorization: `Bearer ${token}`,
                'idempotency-key': `browser-saga-${shopper}`.slice(0, 60).replace(/[^A-Za-z0-9_-]/g, '-'),
              },
              body: JSON.stringify({
                items: [{ sku: 'BOK-0003', quantity: 1 }],
                shipping_address: '4 Saga Street',
              }),
            }).then(async (response) => ({
              status: response.status,
              body: (await response.json()) as { order_id: string },
            })),
          (answer) => answer.status === 202,
          'the order accepted (202) once the new customer’s profile exists',
          20_000,
        );
        const orderId = placed.body.order_id;

        const letters = await expectEventually(
          () =>
            supervisor('services/customer/admin/dead-letters') as Promise<{
              items: { id: number; error: string }[];
            }>,
          (answer) => answer.items.some((letter) => letter.error.includes('browser_test_refuses')),
          'the refused registration in customer’s dead letters after its attempts',
          60_000,
        );
        const letter = letters.items.find((item) => item.error.includes('browser_test_refuses'));
        await database.query('ALTER TABLE customers DROP CONSTRAINT browser_test_refuses');

        const { page } = browser;
        await signInInBrowser(page, '/ops', demoAdmin.email, demoAdmin.password);
        await expectVisible(page.getByRole('table', { name: 'Processes' }), 'the console');
        await page.getByRole('link', { name: 'Dead letters' }).click();
        const row = page
          .getByRole('table', { name: 'Dead letters' })
          .getByRole('row')
          .filter({ hasText: 'browser_test_refuses' });
        await expectVisible(row, 'the dead letter with its reason');
        await row.getByRole('button', { name: 'Inspect' }).click();
        await expectVisible(row.getByText(BLOCKED), 'the dead letter’s payload (the registration)');
        await screenshot(page, 'ops-dead-letters');
        await row.getByRole('button', { name: `Replay dead letter ${letter?.id} of customer` }).click();
        await expectVisible(
          page
            .getByRole('status')
            .filter({ hasText: `Replayed dead letter ${letter?.id} of customer: processed` }),
          'the replay processed',
        );
        const { rows } = await database.query('SELECT name FROM customers WHERE email = $1', [email]);
        expect(rows, 'the profile the replay created').toEqual([{ name: BLOCKED }]);

        await page.getByRole('link', { name: 'Sagas' }).click();
        await expectEventually(
          async () =>
            ((await page.getByRole('button', { name: /^compensated \(/ }).textContent()) ?? '').match(
              /\d+/,
            )?.[0],
          (count) => Number(count) > 0,
          'a compensated saga counted',
          30_000,
        );
        await page.getByRole('button', { name: /^compensated \(/ }).click();
        await page.getByRole('link', { name: `${orderId}.place` }).click();
        const history = page.getByRole('list', { name: 'Saga history' });
        await expectVisible(history.getByRole('listitem').first(), 'the saga’s timeline');
        const entries = await history.getByRole('listitem').allInnerTexts();
        expect(entries.length, JSON.stringify(entries)).toBeGreaterThanOrEqual(3);
        expect(entries.at(-1), 'the last entry leaves the saga compensated').toMatch(/saga compensated/);
        expect(
          await history.locator('li.compensate, li.failure').count(),
          'the decline and the compensation marked',
        ).toBeGreaterThan(0);
        await screenshot(page, 'ops-saga');
      } finally {
        await database
          .query('ALTER TABLE customers DROP CONSTRAINT IF EXISTS browser_test_refuses')
          .catch(() => undefined);
        await database.end();
        await providerKnobs({ decline_rate: 0 });
      }
    });
  },
);
