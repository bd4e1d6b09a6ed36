export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

export const defaultBackoff: BackoffPolicy = { baseMs: 1_000, maxMs: 10_000 };

/**
 * Exponential backoff with full jitter: a delay drawn uniformly from [0, min(max, base · 2^(n-1))],
 * so that consumers retrying together spread out instead of retrying in lockstep.
 */
export function retryDelay(
  attempt: number,
  policy: BackoffPolicy = defaultBackoff,
  random = Math.random,
): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}
