import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { repositoryRoot } from '../../support/platform-process.ts';
import { CHROMIUM } from './browser-platform.ts';

/** Where every browser test saves its screenshots (CI keeps this folder). */
export const screenshotDir =
  process.env.MERCATO_SCREENSHOT_DIR ?? path.join(repositoryRoot, 'e2e/browser/screenshots');

export interface BrowserSession {
  context: BrowserContext;
  page: Page;
  close: () => Promise<void>;
}

/** Debian's Chromium, headless, with a fresh profile (playwright's own browser download does not work here). */
export async function openBrowser(baseURL: string): Promise<BrowserSession> {
  const profile = await mkdtemp(path.join(tmpdir(), 'mercato-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    baseURL,
    viewport: { width: 1360, height: 900 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(screenshotDir, { recursive: true });
  await page.screenshot({ path: path.join(screenshotDir, `${name}.png`), fullPage: true });
}

/** Waits for `locator` to be visible; a failure says what was expected. */
export async function expectVisible(locator: Locator, expected: string, timeoutMs = 15_000): Promise<void> {
  try {
    await locator.first().waitFor({ state: 'visible', timeout: timeoutMs });
  } catch {
    throw new Error(`expected ${expected} within ${timeoutMs} ms (${locator})`);
  }
}

/** Waits until `read()` satisfies `accept`; a failure says what was expected and what was last seen. */
export async function expectEventually<T>(
  read: () => Promise<T>,
  accept: (value: T) => boolean,
  expected: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let failure: unknown;
  while (Date.now() < deadline) {
    try {
      last = await read();
      if (accept(last)) return last;
    } catch (error) {
      failure = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(
    `expected ${expected} within ${timeoutMs} ms; last saw ${JSON.stringify(last)}${failure ? ` (${String(failure)})` : ''}`,
  );
}
