import { type Availability, probe, suiteTitle } from '@mercato/chassis/testing';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryRateLimitStore } from './memory-rate-limit-store.ts';
import type { Algorithm, RateLimitStore } from './rate-limit-policy.ts';
import { RedisRateLimitStore } from './redis-rate-limit-store.ts';

const redisUrl = process.env.MERCATO_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const redis = await probe(`Redis at ${redisUrl}`, async () => {
  const client = new Redis(redisUrl, {
    maxRetriesPerRequest: 0,
    lazyConnect: true,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
  } finally {
    client.disconnect();
  }
});

const stores: Array<{ name: string; availability: Availability; create: () => RateLimitStore }> = [
  { name: 'in-memory store', availability: { available: true }, create: () => new MemoryRateLimitStore() },
  {
    name: 'Redis store',
    availability: redis,
    create: () => new RedisRateLimitStore(redisUrl, `mercato:test:${Math.random().toString(36).slice(2)}:`),
  },
];

// Every algorithm allows 5 requests per second here; the clock is a number the test moves.
for (const backend of stores) {
  describe.skipIf(!backend.availability.available)(suiteTitle(backend.name, backend.availability), () => {
    const store = backend.availability.available ? backend.create() : undefined;
    afterAll(() => store?.close());
    const hits = async (algorithm: Algorithm, key: string, times: number[]) => {
      const out = [];
      for (const now of times) out.push(await store?.hit(key, { algorithm, limit: 5, windowMs: 1_000 }, now));
      return out;
    };
    const allowed = (decisions: Array<{ allowed: boolean } | undefined>) =>
      decisions.map((d) => (d?.allowed ? 1 : 0));

    it('token bucket: a burst of the whole bucket, then one token every 200 ms', async () => {
      const burst = await hits('token_bucket', 'tb', [0, 0, 0, 0, 0, 0, 0]);
      expect(allowed(burst)).toEqual([1, 1, 1, 1, 1, 0, 0]);
      expect(burst[5]?.retryAfterMs).toBe(200);
      expect(allowed(await hits('token_bucket', 'tb', [200, 200, 400, 1_400]))).toEqual([1, 0, 1, 1]);
      expect((await hits('token_bucket', 'tb', [1_400]))[0]?.remaining).toBe(3);
    });

    it('leaky bucket: requests leave at a constant 200 ms apart, the queue holds 5', async () => {
      const queued = await hits('leaky_bucket', 'lb', [0, 0, 0, 0, 0, 0]);
      expect(allowed(queued)).toEqual([1, 1, 1, 1, 1, 0]);
      expect(queued.map((d) => d?.delayMs)).toEqual([0, 200, 400, 600, 800, 0]);
      // One slot drains every 200 ms, whatever arrives.
      const later = await hits('leaky_bucket', 'lb', [200, 200, 400]);
      expect(allowed(later)).toEqual([1, 0, 1]);
      expect(later[0]?.delayMs).toBe(800);
    });

    it('fixed window: 5 at the end of one window and 5 more at the start of the next', async () => {
      const end = await hits('fixed_window', 'fw', [900, 920, 940, 960, 980, 990]);
      expect(allowed(end)).toEqual([1, 1, 1, 1, 1, 0]);
      expect(end[5]?.retryAfterMs).toBe(10);
      const start = await hits('fixed_window', 'fw', [1_000, 1_010, 1_020, 1_030, 1_040, 1_050]);
      expect(allowed(start)).toEqual([1, 1, 1, 1, 1, 0]);
    });

    it('sliding window: no boundary burst, a slot frees a window after each request', async () => {
      expect(allowed(await hits('sliding_window', 'sw', [900, 920, 940, 960, 980]))).toEqual([1, 1, 1, 1, 1]);
      const boundary = await hits('sliding_window', 'sw', [1_000, 1_050]);
      expect(allowed(boundary)).toEqual([0, 0]);
      expect(boundary[0]?.retryAfterMs).toBe(900);
      expect(allowed(await hits('sliding_window', 'sw', [1_900, 1_905, 1_920]))).toEqual([1, 0, 1]);
    });

    it('keeps keys apart', async () => {
      await hits('fixed_window', 'a', [0, 0, 0, 0, 0]);
      expect(allowed(await hits('fixed_window', 'a', [1]))).toEqual([0]);
      expect(allowed(await hits('fixed_window', 'b', [1]))).toEqual([1]);
    });
  });
}
