import { describe, expect, it } from 'vitest';
import { afterFailure, type FailureWindow, retryAfterSeconds } from './login-throttle.ts';

const policy = { maxFailures: 3, windowMs: 60_000 };
const at = (seconds: number) => new Date(Date.UTC(2026, 10, 24, 10, 0, seconds));

describe('login throttle', () => {
  it('blocks after the limit until the window ends, then starts afresh', () => {
    let window: FailureWindow | undefined;
    for (const second of [0, 10, 20]) {
      expect(retryAfterSeconds(window, policy, at(second))).toBe(0);
      window = afterFailure(window, policy, at(second));
    }
    expect(retryAfterSeconds(window, policy, at(30))).toBe(30);
    expect(retryAfterSeconds(window, policy, at(60))).toBe(0);
    expect(afterFailure(window, policy, at(60))).toEqual({ windowStartedAt: at(60), failures: 1 });
  });
});
