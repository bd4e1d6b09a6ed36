export const algorithms = ['token_bucket', 'leaky_bucket', 'fixed_window', 'sliding_window'] as const;
export type Algorithm = (typeof algorithms)[number];

/**
 * `limit` requests per `windowMs`, shaped by the algorithm:
 * - token_bucket: a burst of `limit`, then refilled at limit/window;
 * - leaky_bucket: requests leave at a constant limit/window, queued up to `limit` deep (delayed,
 *   not rejected, while there is room);
 * - fixed_window: `limit` per calendar window (allows 2× across a boundary);
 * - sliding_window: `limit` in any window-long span (no boundary burst).
 */
export interface RateLimitPolicy {
  algorithm: Algorithm;
  limit: number;
  windowMs: number;
}

export interface Decision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Until the limit is fully available again. */
  resetMs: number;
  /** When rejected: how long until a retry can succeed. */
  retryAfterMs: number;
  /** When allowed by a leaky bucket: how long to hold the request so it leaves at the drain rate. */
  delayMs: number;
}

/** Where limit state lives: this process, or Redis so limits hold across gateway replicas. */
export interface RateLimitStore {
  /** Counts one request for `key` at time `now` (epoch ms) and decides it. */
  hit(key: string, policy: RateLimitPolicy, now: number): Promise<Decision>;
  close(): Promise<void>;
}
