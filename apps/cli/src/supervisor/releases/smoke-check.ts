import type { ServiceProcess } from '../service-process.ts';
import { scrape } from './canary-analysis.ts';

/** Calls a tester's smoke check sends through the gateway to the green set. */
export const SMOKE_CALLS = 10;

/** How long each ask may take, and how long the whole check may take asking again. */
export interface SmokeLimits {
  /** One `/readyz` of a green instance. */
  readyTimeoutMs: number;
  /** One call through the gateway. */
  callTimeoutMs: number;
  /** The whole check: an ask that timed out is asked again until this is spent. */
  budgetMs: number;
}

export const defaultSmokeLimits: SmokeLimits = {
  readyTimeoutMs: 2_000,
  callTimeoutMs: 5_000,
  budgetMs: 30_000,
};

type Instance = Pick<ServiceProcess, 'name' | 'url'>;

const timedOut = (error: unknown): boolean => error instanceof DOMException && error.name === 'TimeoutError';

/**
 * A blue-green release's check of the green set alone, before any customer call reaches it: each
 * green instance answers `/readyz`; with `path` (e.g. `/api/catalog/products?page_size=1`), that
 * path is asked through the gateway SMOKE_CALLS times as a tester does (`x-mercato-canary: always`,
 * which routes to the green instances), every answer must be 2xx, and green must have served them.
 *
 * An answer that is not 2xx, or a connection refused, fails the check at once: green (or the way
 * to it) is broken. A call with no answer yet is asked again, within `budgetMs` for the whole check:
 * on a loaded machine a fresh instance's first calls (its first connections, code not yet
 * compiled) can outlast one call's timeout, and that says nothing against the version (CI, 5 Dec:
 * a green instance started in 4.7 s instead of 1.3 s and the release was abandoned on one slow
 * call). Green that never answers fails when the budget is spent, naming what it did not answer.
 */
export async function smokeCheck(
  green: readonly Instance[],
  gatewayUrl: string,
  path: string | undefined,
  limits: SmokeLimits = defaultSmokeLimits,
): Promise<string> {
  const deadline = Date.now() + limits.budgetMs;
  let retried = 0;
  const ask = async (
    what: string,
    timeoutMs: number,
    url: URL | string,
    headers?: Record<string, string>,
  ) => {
    for (let tries = 1; ; tries += 1) {
      try {
        const response = await fetch(url, {
          headers,
          signal: AbortSignal.timeout(Math.max(1, Math.min(timeoutMs, deadline - Date.now()))),
        });
        await response.arrayBuffer();
        return response.status;
      } catch (error) {
        if (!timedOut(error)) {
          const cause = (error as { cause?: { code?: unknown } }).cause?.code;
          throw new Error(
            `${what} failed: ${(error as Error).message}${typeof cause === 'string' ? ` (${cause})` : ''}`,
          );
        }
        if (Date.now() >= deadline)
          throw new Error(
            `${what} did not answer within ${limits.budgetMs} ms for the whole check (${tries} tries, each up to ${timeoutMs} ms)`,
          );
        retried += 1;
      }
    }
  };
  for (const instance of green) {
    const status = await ask(`${instance.name}'s /readyz`, limits.readyTimeoutMs, `${instance.url}/readyz`);
    if (status !== 200) throw new Error(`${instance.name} answered /readyz with ${status}`);
  }
  const slow = () => (retried > 0 ? ` (${retried} asked again after no answer in time)` : '');
  if (!path) return `${green.length} instance(s) ready (no --smoke-path: no calls sent)${slow()}`;
  const before = await Promise.all(green.map(scrape));
  for (let call = 1; call <= SMOKE_CALLS; call += 1) {
    const status = await ask(
      `GET ${path} (call ${call} of ${SMOKE_CALLS})`,
      limits.callTimeoutMs,
      new URL(path, gatewayUrl),
      {
        'x-mercato-canary': 'always',
      },
    );
    if (status < 200 || status > 299)
      throw new Error(`GET ${path} answered ${status} (call ${call} of ${SMOKE_CALLS})`);
  }
  const after = await Promise.all(green.map(scrape));
  const byGreen = after.reduce(
    (sum, snapshot, index) => sum + snapshot.requests - (before[index]?.requests ?? 0),
    0,
  );
  if (byGreen < SMOKE_CALLS)
    throw new Error(`green served ${byGreen} of the ${SMOKE_CALLS} calls to ${path}: they did not reach it`);
  return `${SMOKE_CALLS} calls to ${path} through the gateway, all answered 2xx, served by green${slow()}`;
}
