import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '@mercato/chassis';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Identification } from '../auth/identification.ts';
import type { RateLimitKey, Route } from '../routing/route-table.ts';
import type { RateLimitStore } from './rate-limit-policy.ts';

/**
 * Who a request is counted against. `request.ip` honours X-Forwarded-For only when the peer is a
 * configured trusted proxy (fastify's `trustProxy`), so a client cannot mint fresh keys by rotating
 * that header; user and API-key keys are used only once verified, and fall back to the IP.
 */
async function keyOf(kind: RateLimitKey, request: FastifyRequest, identification: Identification) {
  if (kind === 'user') {
    const principal = await identification.principal(request);
    if (principal) return `user:${principal.userId}`;
  }
  if (kind === 'api_key') {
    const client = identification.apiClient(request);
    if (client) return `key:${client}`;
  }
  return `ip:${request.ip}`;
}

/**
 * Applies the matched route's limit, per route and key. Answers carry RateLimit-* headers; a
 * refusal is 429 with Retry-After; a leaky bucket delays the request instead while its queue has
 * room.
 */
export function createRateLimitStep(store: RateLimitStore, identification: Identification, now = Date.now) {
  const limit = async (
    request: FastifyRequest,
    reply: FastifyReply,
    route: Route,
    { policy, key: keyKind }: NonNullable<Route['rateLimit']>,
  ) => {
    const key = await keyOf(keyKind, request, identification);
    const decision = await store.hit(`${route.name}|${key}`, policy, now());
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
  };
  /** Undefined (nothing to wait for) on routes without a limit. */
  return (request: FastifyRequest, reply: FastifyReply): Promise<void> | undefined => {
    const route = request.gatewayRoute;
    return route.rateLimit ? limit(request, reply, route, route.rateLimit) : undefined;
  };
}
