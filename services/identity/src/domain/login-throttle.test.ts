import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  afterFailure,
  delayAfter,
  type LoginFailures,
  type LoginThrottlePolicies,
  loginVerdict,
} from './login-throttle.ts';

const policy = (freeFailures: number) => ({
  freeFailures,
  firstDelayMs: 1_000,
  maxDelayMs: 900_000,
  forgetAfterMs: 900_000,
});
const policies: LoginThrottlePolicies = { client: policy(5), account: policy(10), address: policy(20) };
const at = (ms: number) => new Date(Date.UTC(2026, 10, 24, 10, 0, 0) + ms);

/** Failures recorded as the service records them: under all three keys at once. */
function fail(failures: LoginFailures, now: Date, which: Array<keyof LoginFailures>): LoginFailures {
  const next = { ...failures };
  for (const key of which) next[key] = afterFailure(failures[key], policies[key], now);
  return next;
}

describe('login throttle', () => {
  it('holds a client back after its free failures, doubling the wait with each further one', () => {
    let failures: LoginFailures = {};
    for (let i = 0; i < 5; i += 1) {
      expect(loginVerdict(failures, policies, at(i))).toEqual({ allowed: true });
      failures = fail(failures, at(i), ['client', 'account', 'address']);
    }
    expect(loginVerdict(failures, policies, at(5))).toEqual({
      allowed: false,
      retryAfterSeconds: 1,
      heldBy: 'client',
    });
    expect(loginVerdict(failures, policies, at(1_004))).toEqual({ allowed: true });
    failures = fail(failures, at(1_004), ['client', 'account', 'address']);
    expect(loginVerdict(failures, policies, at(1_005))).toMatchObject({
      allowed: false,
      retryAfterSeconds: 2,
    });
    expect([5, 6, 7, 8, 15, 30].map((n) => delayAfter(n, policies.client))).toEqual([
      1_000, 2_000, 4_000, 8_000, 900_000, 900_000,
    ]);
  });

  it('forgets a key once its last failure is older than the window', () => {
    const failures = fail({}, at(0), ['client']);
    const lots = { client: { failures: 50, lastFailureAt: at(0) } };
    expect(loginVerdict(lots, policies, at(899_999))).toMatchObject({ allowed: false });
    expect(loginVerdict(lots, policies, at(900_000))).toEqual({ allowed: true });
    expect(afterFailure(failures.client, policies.client, at(900_000)).failures).toBe(1);
  });

  it('lets a client that has not failed on the account in, however held its account or address is', () => {
    const sprayed = { address: { failures: 500, lastFailureAt: at(0) } };
    const guessed = { account: { failures: 500, lastFailureAt: at(0) } };
    expect(loginVerdict(sprayed, policies, at(1))).toEqual({ allowed: true });
    expect(loginVerdict(guessed, policies, at(1))).toEqual({ allowed: true });
    // One failure of its own, though, and it waits with the rest.
    const mistyped = { ...sprayed, client: { failures: 1, lastFailureAt: at(1) } };
    expect(loginVerdict(mistyped, policies, at(2))).toMatchObject({ allowed: false, heldBy: 'address' });
  });

  const record = fc.option(
    fc.record({
      failures: fc.integer({ min: 0, max: 200 }),
      lastFailureAt: fc.integer({ min: 0, max: 2_000_000 }).map(at),
    }),
    { nil: undefined },
  );

  it('never holds back a client without failures of its own on the account (property)', () => {
    fc.assert(
      fc.property(record, record, fc.integer({ min: 0, max: 2_000_000 }), (account, address, now) => {
        expect(loginVerdict({ account, address }, policies, at(now))).toEqual({ allowed: true });
      }),
    );
  });

  it('never shortens the wait when a failure is added (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100 }), (failures) => {
        expect(delayAfter(failures + 1, policies.client)).toBeGreaterThanOrEqual(
          delayAfter(failures, policies.client),
        );
      }),
    );
  });
});
