import { demoAdmin, demoUser } from '@mercato/demo-shop';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type BrowserSession, expectVisible, openBrowser, screenshot } from './support/browser.ts';
import { signInInBrowser } from './support/shop-actions.ts';

const skipReason = inject('skipReason');

async function tokenOf(account: { email: string; password: string }): Promise<string> {
  const response = await fetch(`${inject('gateway')}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: account.email, password: account.password }),
  });
  if (response.status !== 200)
    throw new Error(`login ${account.email}: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

describe.skipIf(skipReason !== '')(`who reaches /ops${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let browser: BrowserSession;

  beforeAll(async () => {
    browser = await openBrowser(inject('gateway'));
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('an anonymous visitor and a customer get 401 and 403 from the console API, through the gateway and directly', async () => {
    const customer = await tokenOf(demoUser);
    const admin = await tokenOf(demoAdmin);
    const status = async (url: string, token?: string) =>
      (await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {})).status;
    for (const [base, path] of [
      [`${inject('gateway')}/ops/api`, 'processes'],
      [`${inject('gateway')}/ops/api`, 'traces'],
      [`${inject('gateway')}/ops/api`, 'services/order/admin/sagas'],
      [`${inject('supervisor')}/admin`, 'processes'],
      [`${inject('supervisor')}/admin`, 'logs'],
    ]) {
      const url = `${base}/${path}`;
      expect(await status(url), `anonymous ${url}`).toBe(401);
      expect(await status(url, 'not-a-token'), `a made-up token at ${url}`).toBe(401);
      expect(await status(url, customer), `a customer at ${url}`).toBe(403);
      expect(await status(url, admin), `the demo admin at ${url}`).toBe(200);
    }
    const kill = await fetch(`${inject('gateway')}/ops/api/processes/catalog/kill`, {
      method: 'POST',
      headers: { authorization: `Bearer ${customer}` },
    });
    expect(kill.status, 'a customer killing catalog').toBe(403);
  });

  it('the console shows an anonymous visitor a sign-in and a customer a refusal, and no data', async () => {
    const { page } = browser;
    const seen: number[] = [];
    page.on('response', (response) => {
      if (new URL(response.url()).pathname.startsWith('/ops/api/')) seen.push(response.status());
    });
    await page.goto('/ops');
    await expectVisible(page.getByRole('heading', { name: 'Mercato ops console' }), 'the console sign-in');
    expect(await page.getByRole('table', { name: 'Processes' }).count()).toBe(0);
    await signInInBrowser(page, '/ops', demoUser.email, demoUser.password);
    await expectVisible(
      page.getByRole('alert').filter({ hasText: 'does not have the admin role' }),
      'a customer refused by the console',
    );
    expect(await page.getByRole('table', { name: 'Processes' }).count()).toBe(0);
    await screenshot(page, 'ops-access-denied');
    expect(
      seen.every((code) => code === 401 || code === 403),
      `console API answers: ${seen}`,
    ).toBe(true);
  });
});
