import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '@mercato/chassis';
import type { FastifyInstance } from 'fastify';
import type { RateLimitPolicy, RateLimitStore } from './rate-limit-policy.ts';

export interface RouteLimits {
  /** Policy for a route, by method and route template; undefined means unlimited. */
  policyFor: (method: string, route: string) => RateLimitPolicy | undefined;
}

/**
 * Limits every request by client IP. `request.ip` honours X-Forwarded-For only when the peer is
 * a configured trusted proxy (fastify's `trustProxy`), so a client cannot mint fresh keys by
 * rotating that header. Answers carry RateLimit-* headers; a refusal is 429 with Retry-After; a
 * leaky bucket delays the request instead while its queue has room.
 */
export function installRateLimits(
  app: FastifyInstance,
  store: RateLimitStore,
  limits: RouteLimits,
  now = Date.now,
): void {
  app.addHook('onRequest', async (request, reply) => {
    const policy = limits.policyFor(request.method, request.routeOptions.url ?? request.url);
    if (!policy) return;
    const decision = await store.hit(`ip:${request.ip}`, policy, now());
    void reply
      .header('ratelimit-limit', decision.limit)
      .header('ratelimit-remaining', decision.remaining)
      .header('ratelimit-reset', Math.ceil(decision.resetMs / 1000))
      .header('ratelimit-policy', `${policy.limit};w=${Math.ceil(policy.windowMs / 1000)}`);
    if (!decision.allowed) {
      const seconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
      void reply.header('retry-after', seconds);
      throw new AppError({
        code: 'GATEWAY.RATE_LIMITED',
        kind: 'rate_limited',
        message: `Too many requests; retry in ${seconds} s`,
        retryable: true,
      });
    }
    if (decision.delayMs > 0) await sleep(decision.delayMs);
  });
}
