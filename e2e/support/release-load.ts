/** The steady load the release suites send through the gateway while they release. */
export interface ReleaseLoad {
  readsPerSecond: number;
  ordersPerSecond: number;
}

/**
 * What a 2-core machine running the whole shop and the suite serves without the gateway shedding:
 * 50 reads and 2 orders a second. The release issue asks for 100 and 5, which this machine does
 * not serve beside the whole shop (docs/releases.md, "The rate"), so that is not the default. `MERCATO_E2E_RELEASE_LOAD=<reads>/<orders>` (e.g. `100/5`) runs the suites at another
 * rate, on a faster machine or to measure where this one stands.
 */
export const DEFAULT_RELEASE_LOAD: ReleaseLoad = { readsPerSecond: 50, ordersPerSecond: 2 };

export function releaseLoad(value = process.env.MERCATO_E2E_RELEASE_LOAD): ReleaseLoad {
  if (value === undefined || value === '') return DEFAULT_RELEASE_LOAD;
  const match = /^(\d{1,4})\/(\d{1,3})$/.exec(value.trim());
  const readsPerSecond = Number(match?.[1]);
  const ordersPerSecond = Number(match?.[2]);
  if (!match || readsPerSecond < 1 || ordersPerSecond < 1)
    throw new Error(
      `MERCATO_E2E_RELEASE_LOAD must be <reads>/<orders> a second, each at least 1 (e.g. 100/5), not "${value}"`,
    );
  return { readsPerSecond, ordersPerSecond };
}
