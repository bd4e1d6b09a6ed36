import type { ServiceProcess } from '../service-process.ts';
import { scrape } from './canary-analysis.ts';

/** Calls a tester's smoke check sends through the gateway to the green set. */
export const SMOKE_CALLS = 10;

const served = async (instance: ServiceProcess): Promise<number> => (await scrape(instance)).requests;

/**
 * A blue-green release's check of the green set alone, before any customer call reaches it: each
 * green instance answers `/readyz`; with `path` (e.g. `/api/catalog/products?page_size=1`), that
 * path is asked through the gateway SMOKE_CALLS times as a tester does (`x-mercato-canary: always`,
 * which routes to the green instances), every answer must be 2xx, and green must have served them.
 */
export async function smokeCheck(
  green: readonly ServiceProcess[],
  gatewayUrl: string,
  path: string | undefined,
): Promise<string> {
  for (const instance of green) {
    const ready = await fetch(`${instance.url}/readyz`, { signal: AbortSignal.timeout(2_000) });
    if (ready.status !== 200) throw new Error(`${instance.name} answered /readyz with ${ready.status}`);
  }
  if (!path) return `${green.length} instance(s) ready (no --smoke-path: no calls sent)`;
  const before = await Promise.all(green.map(served));
  for (let call = 0; call < SMOKE_CALLS; call += 1) {
    const response = await fetch(new URL(path, gatewayUrl), {
      headers: { 'x-mercato-canary': 'always' },
      signal: AbortSignal.timeout(5_000),
    });
    await response.arrayBuffer();
    if (response.status < 200 || response.status > 299)
      throw new Error(`GET ${path} answered ${response.status} (call ${call + 1} of ${SMOKE_CALLS})`);
  }
  const after = await Promise.all(green.map(served));
  const byGreen = after.reduce((sum, count, index) => sum + count - (before[index] ?? 0), 0);
  if (byGreen < SMOKE_CALLS)
    throw new Error(`green served ${byGreen} of the ${SMOKE_CALLS} calls to ${path}: they did not reach it`);
  return `${SMOKE_CALLS} calls to ${path} through the gateway, all answered 2xx, served by green`;
}
