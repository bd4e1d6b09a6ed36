import { setTimeout as sleep } from 'node:timers/promises';
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

/** An answer: its status and, for a problem, its code and Retry-After. */
interface Answer {
  status: number;
  code?: string;
  retryAfterSeconds?: number;
}

/** The problem code of a call the gateway's adaptive limit refused before any instance saw it. */
const EDGE_SHED = 'GATEWAY.OVERLOADED';

async function answerOf(response: Response): Promise<Answer> {
  const body = await response.text();
  if (response.ok) return { status: response.status };
  let code: string | undefined;
  try {
    const parsed = JSON.parse(body) as { code?: unknown };
    if (typeof parsed.code === 'string') code = parsed.code;
  } catch {
    // Not a problem document: the status says it all.
  }
  const retryAfter = Number(response.headers.get('retry-after') ?? Number.NaN);
  return {
    status: response.status,
    code,
    retryAfterSeconds: Number.isFinite(retryAfter) ? retryAfter : undefined,
  };
}

/**
 * A blue-green release's check of the green set alone, before any customer call reaches it: each
 * green instance answers `/readyz`; with `path` (e.g. `/api/catalog/products?page_size=1`), that
 * path is asked through the gateway SMOKE_CALLS times as a tester does (`x-mercato-canary: always`,
 * which routes to the green instances), every answer must be 2xx, and green must have served them.
 *
 * An answer that is not 2xx, or a connection refused, fails the check at once: green (or the way
 * to it) is broken. One exception: a call the gateway shed (503 `GATEWAY.OVERLOADED`: its adaptive
 * limit refused it before any instance saw it) says nothing about green, and is asked again after
 * its Retry-After, as a well-behaved client does, within the same budget (CI, 7 Dec: a starved
 * machine's gateway shed the third call and the release was abandoned). A call with no answer yet
 * is asked again, within `budgetMs` for the whole check:
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
  let shed = 0;
  /**
   * One ask, and the asks again it is owed within the budget: after no answer in time, and after
   * the gateway's shed (its Retry-After). Any other answer, or a failed connection, is final.
   */
  const ask = async (
    what: string,
    timeoutMs: number,
    url: URL | string,
    headers?: Record<string, string>,
  ): Promise<Answer> => {
    for (let tries = 1; ; tries += 1) {
      let answer: Answer;
      try {
        const response = await fetch(url, {
          headers,
          signal: AbortSignal.timeout(Math.max(1, Math.min(timeoutMs, deadline - Date.now()))),
        });
        answer = await answerOf(response);
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
        continue;
      }
      if (answer.status !== 503 || answer.code !== EDGE_SHED) return answer;
      const pauseMs = (answer.retryAfterSeconds ?? 1) * 1000;
      if (Date.now() + pauseMs >= deadline)
        throw new Error(
          `${what} was shed by the gateway (503 ${EDGE_SHED}) until the check's ${limits.budgetMs} ms were spent (${shed} asked again)`,
        );
      shed += 1;
      await sleep(pauseMs);
    }
  };
  for (const instance of green) {
    const { status } = await ask(
      `${instance.name}'s /readyz`,
      limits.readyTimeoutMs,
      `${instance.url}/readyz`,
    );
    if (status !== 200) throw new Error(`${instance.name} answered /readyz with ${status}`);
  }
  const slow = () =>
    [
      retried > 0 ? ` (${retried} asked again after no answer in time)` : '',
      shed > 0 ? ` (${shed} shed by the gateway and asked again after its Retry-After)` : '',
    ].join('');
  if (!path) return `${green.length} instance(s) ready (no --smoke-path: no calls sent)${slow()}`;
  const before = await Promise.all(green.map(scrape));
  for (let call = 1; call <= SMOKE_CALLS; call += 1) {
    const answer = await ask(
      `GET ${path} (call ${call} of ${SMOKE_CALLS})`,
      limits.callTimeoutMs,
      new URL(path, gatewayUrl),
      { 'x-mercato-canary': 'always' },
    );
    if (answer.status < 200 || answer.status > 299)
      throw new Error(
        `GET ${path} answered ${answer.status}${answer.code ? ` ${answer.code}` : ''} (call ${call} of ${SMOKE_CALLS})`,
      );
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
