import type { BrowserContext } from 'playwright-core';

/**
 * Largest Contentful Paint of a page loaded cold (a new page with the cache cleared), read from the
 * browser's own PerformanceObserver once the product grid is on screen.
 */
export async function largestContentfulPaint(context: BrowserContext, url: string): Promise<number> {
  const page = await context.newPage();
  const session = await context.newCDPSession(page);
  await session.send('Network.clearBrowserCache');
  await page.goto(url, { waitUntil: 'load' });
  await page
    .getByRole('list', { name: 'Products' })
    .getByRole('listitem')
    .first()
    .waitFor({ timeout: 15_000 });
  // LCP candidates stop once the page is idle; a short wait lets the last one be reported.
  await page.waitForTimeout(300);
  const lcp = await page.evaluate(
    () =>
      new Promise<number>((resolve) => {
        new PerformanceObserver((list) => {
          const entries = list.getEntries();
          resolve(entries[entries.length - 1]?.startTime ?? -1);
          // Runs in the page; Node's types (this file's) do not list the browser's entry types.
        }).observe({ type: 'largest-contentful-paint' as 'mark', buffered: true });
      }),
  );
  await page.close();
  return lcp;
}
