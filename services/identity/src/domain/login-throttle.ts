/**
 * Login throttling as OWASP's authentication cheat sheet describes it, without its denial of
 * service: failures are counted per client on an account (email and IP), per account (from any
 * address: guessing spread over many addresses) and per address (spraying over many accounts).
 * Past its free failures each count holds attempts back for a delay that doubles with every
 * further failure. Only a client that has itself failed on the account is ever held back: others'
 * failures (an attacker behind the same office NAT, or guessing the same account from elsewhere)
 * never stop a correct password from a client that has not.
 */

/** Failures counted under one key (a client on an account, an account, an address). */
export interface FailureRecord {
  failures: number;
  lastFailureAt: Date;
}

export interface ThrottlePolicy {
  /** Failures allowed before attempts are held back. */
  freeFailures: number;
  /** The first hold; each further failure doubles it. */
  firstDelayMs: number;
  maxDelayMs: number;
  /** A key's failures are forgotten this long after its last one. */
  forgetAfterMs: number;
}

export interface LoginThrottlePolicies {
  /** One client (email and address) guessing one account. */
  client: ThrottlePolicy;
  /** One account guessed from any number of addresses. */
  account: ThrottlePolicy;
  /** One address guessing across accounts (password spraying). */
  address: ThrottlePolicy;
}

export interface LoginFailures {
  client?: FailureRecord | undefined;
  account?: FailureRecord | undefined;
  address?: FailureRecord | undefined;
}

export type LoginVerdict =
  | { allowed: true }
  | { allowed: false; retryAfterSeconds: number; heldBy: keyof LoginThrottlePolicies };

/** Failures that still count at `now`: 0 once the record is forgotten. */
export function liveFailures(record: FailureRecord | undefined, policy: ThrottlePolicy, now: Date): number {
  if (!record) return 0;
  return now.getTime() - record.lastFailureAt.getTime() >= policy.forgetAfterMs ? 0 : record.failures;
}

/** How long attempts are held back after `failures`: nothing until the free ones are spent, then doubling. */
export function delayAfter(failures: number, policy: ThrottlePolicy): number {
  if (failures < policy.freeFailures) return 0;
  const doublings = Math.min(failures - policy.freeFailures, 40);
  return Math.min(policy.firstDelayMs * 2 ** doublings, policy.maxDelayMs);
}

/** Milliseconds until the key lets an attempt through (0: now). */
export function heldFor(record: FailureRecord | undefined, policy: ThrottlePolicy, now: Date): number {
  const failures = liveFailures(record, policy, now);
  if (!record || failures === 0) return 0;
  return Math.max(0, record.lastFailureAt.getTime() + delayAfter(failures, policy) - now.getTime());
}

/**
 * Whether an attempt may be checked now. A client held back by its own failures waits; a client
 * with failures on this account also waits while the account or its address is held back; a client
 * without any is always checked, so its correct password gets in.
 */
export function loginVerdict(
  failures: LoginFailures,
  policies: LoginThrottlePolicies,
  now: Date,
): LoginVerdict {
  const held = (heldBy: keyof LoginThrottlePolicies): LoginVerdict | undefined => {
    const ms = heldFor(failures[heldBy], policies[heldBy], now);
    return ms > 0 ? { allowed: false, retryAfterSeconds: Math.ceil(ms / 1000), heldBy } : undefined;
  };
  const own = held('client');
  if (own) return own;
  if (liveFailures(failures.client, policies.client, now) === 0) return { allowed: true };
  return held('account') ?? held('address') ?? { allowed: true };
}

/** The record after one more failure at `now` (a forgotten one starts again). */
export function afterFailure(
  record: FailureRecord | undefined,
  policy: ThrottlePolicy,
  now: Date,
): FailureRecord {
  return { failures: liveFailures(record, policy, now) + 1, lastFailureAt: now };
}
