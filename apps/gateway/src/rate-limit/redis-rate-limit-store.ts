import { Redis } from 'ioredis';
import type { Algorithm, Decision, RateLimitPolicy, RateLimitStore } from './rate-limit-policy.ts';
import { redisScripts } from './redis-scripts.ts';

type Reply = [number, number, number, number, number];

/** Limits shared by every gateway replica: each decision is one atomic Lua call. */
export class RedisRateLimitStore implements RateLimitStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #shas = new Map<Algorithm, string>();

  constructor(url: string, prefix = 'mercato:ratelimit:') {
    this.#redis = new Redis(url, { maxRetriesPerRequest: 1 });
    // Errors surface on the calls; without a listener ioredis would print them unhandled.
    this.#redis.on('error', () => undefined);
    this.#prefix = prefix;
  }

  async hit(key: string, policy: RateLimitPolicy, now: number): Promise<Decision> {
    const args = [String(policy.limit), String(policy.windowMs), String(now)];
    const redisKey = `${this.#prefix}${policy.algorithm}:${key}`;
    const reply = (await this.#evaluate(policy.algorithm, redisKey, args)) as Reply;
    const [allowed, remaining, resetMs, retryAfterMs, delayMs] = reply;
    return { allowed: allowed === 1, limit: policy.limit, remaining, resetMs, retryAfterMs, delayMs };
  }

  async close(): Promise<void> {
    this.#redis.disconnect();
  }

  async #evaluate(algorithm: Algorithm, key: string, args: string[]): Promise<unknown> {
    let sha = this.#shas.get(algorithm);
    if (!sha) {
      sha = (await this.#redis.script('LOAD', redisScripts[algorithm])) as string;
      this.#shas.set(algorithm, sha);
    }
    try {
      return await this.#redis.evalsha(sha, 1, key, ...args);
    } catch (error) {
      // A Redis restart forgets loaded scripts.
      if (!(error instanceof Error && error.message.includes('NOSCRIPT'))) throw error;
      return this.#redis.eval(redisScripts[algorithm], 1, key, ...args);
    }
  }
}
