export interface FailureWindow {
  windowStartedAt: Date;
  failures: number;
}

export interface ThrottlePolicy {
  maxFailures: number;
  windowMs: number;
}

/**
 * Seconds until a login may be tried again for this key, or 0 when it may be tried now. Fixed
 * windows: simple, and an attacker gets at most 2 × maxFailures guesses across a boundary.
 */
export function retryAfterSeconds(
  window: FailureWindow | undefined,
  policy: ThrottlePolicy,
  now: Date,
): number {
  if (!window || window.failures < policy.maxFailures) return 0;
  const endsAt = window.windowStartedAt.getTime() + policy.windowMs;
  return Math.max(0, Math.ceil((endsAt - now.getTime()) / 1000));
}

/** The window after one more failure: counted in the current window, or starting a new one. */
export function afterFailure(
  window: FailureWindow | undefined,
  policy: ThrottlePolicy,
  now: Date,
): FailureWindow {
  if (!window || now.getTime() - window.windowStartedAt.getTime() >= policy.windowMs)
    return { windowStartedAt: now, failures: 1 };
  return { windowStartedAt: window.windowStartedAt, failures: window.failures + 1 };
}
