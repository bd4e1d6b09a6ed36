import type { Algorithm, Decision, RateLimitPolicy } from './rate-limit-policy.ts';

/**
 * The four algorithms as pure functions of (state, policy, now). The in-memory store runs them
 * directly; the Redis store runs the same arithmetic in Lua (redis-scripts.ts), and one contract
 * test holds both to the same answers.
 */
export type State = number[];

type Step = (
  state: State | undefined,
  policy: RateLimitPolicy,
  now: number,
) => { decision: Decision; state: State };

const decision = (
  policy: RateLimitPolicy,
  fields: Partial<Decision> & Pick<Decision, 'allowed' | 'remaining'>,
): Decision => ({
  limit: policy.limit,
  resetMs: 0,
  retryAfterMs: 0,
  delayMs: 0,
  ...fields,
});

/** state: [tokens, updatedAt] */
const tokenBucket: Step = (state, policy, now) => {
  const perMs = policy.limit / policy.windowMs;
  const [stored = policy.limit, at = now] = state ?? [];
  const tokens = Math.min(policy.limit, stored + (now - at) * perMs);
  if (tokens >= 1) {
    const left = tokens - 1;
    return {
      decision: decision(policy, {
        allowed: true,
        remaining: Math.floor(left),
        resetMs: Math.ceil((policy.limit - left) / perMs),
      }),
      state: [left, now],
    };
  }
  const wait = Math.ceil((1 - tokens) / perMs);
  return {
    decision: decision(policy, {
      allowed: false,
      remaining: 0,
      retryAfterMs: wait,
      resetMs: Math.ceil((policy.limit - tokens) / perMs),
    }),
    state: [tokens, now],
  };
};

/** state: [nextFreeAt]: when the queue's last request leaves. */
const leakyBucket: Step = (state, policy, now) => {
  const interval = policy.windowMs / policy.limit;
  const nextFree = Math.max(now, state?.[0] ?? now);
  const delay = nextFree - now;
  const queued = Math.ceil(delay / interval);
  if (queued >= policy.limit) {
    return {
      decision: decision(policy, {
        allowed: false,
        remaining: 0,
        retryAfterMs: Math.ceil(delay - (policy.limit - 1) * interval),
        resetMs: Math.ceil(delay),
      }),
      state: [nextFree],
    };
  }
  return {
    decision: decision(policy, {
      allowed: true,
      remaining: policy.limit - queued - 1,
      delayMs: Math.ceil(delay),
      resetMs: Math.ceil(delay + interval),
    }),
    state: [nextFree + interval],
  };
};

/** state: [windowStart, count] */
const fixedWindow: Step = (state, policy, now) => {
  const start = Math.floor(now / policy.windowMs) * policy.windowMs;
  const count = state?.[0] === start ? (state[1] ?? 0) : 0;
  const resetMs = start + policy.windowMs - now;
  if (count >= policy.limit)
    return {
      decision: decision(policy, { allowed: false, remaining: 0, retryAfterMs: resetMs, resetMs }),
      state: [start, count],
    };
  return {
    decision: decision(policy, { allowed: true, remaining: policy.limit - count - 1, resetMs }),
    state: [start, count + 1],
  };
};

/** state: the times of the requests allowed in the last window, oldest first. */
const slidingWindow: Step = (state, policy, now) => {
  const hits = (state ?? []).filter((at) => at > now - policy.windowMs);
  const oldest = hits[0] ?? now;
  if (hits.length >= policy.limit) {
    const retryAfterMs = oldest + policy.windowMs - now;
    return {
      decision: decision(policy, { allowed: false, remaining: 0, retryAfterMs, resetMs: retryAfterMs }),
      state: hits,
    };
  }
  hits.push(now);
  return {
    decision: decision(policy, {
      allowed: true,
      remaining: policy.limit - hits.length,
      resetMs: (hits[0] ?? now) + policy.windowMs - now,
    }),
    state: hits,
  };
};

export const steps: Record<Algorithm, Step> = {
  token_bucket: tokenBucket,
  leaky_bucket: leakyBucket,
  fixed_window: fixedWindow,
  sliding_window: slidingWindow,
};
