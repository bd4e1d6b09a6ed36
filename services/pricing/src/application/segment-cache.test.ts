import { createEnvelope, customerUpdated } from '@mercato/contracts';
import { describe, expect, it } from 'vitest';
import { customerUpdatedConsumer } from '../adapters/messaging/customer-updated.consumer.ts';
import { SegmentCache } from './segment-cache.ts';

const counting = (segments: Record<string, string>) => {
  const asked: string[] = [];
  return {
    asked,
    lookup: async (customerId: string) => {
      asked.push(customerId);
      return segments[customerId] ?? 'standard';
    },
  };
};

describe('SegmentCache', () => {
  it('asks the customer service once per customer while the entry is fresh', async () => {
    const customers = counting({ usr_1: 'member' });
    const cache = new SegmentCache(customers.lookup, { ttlMs: 30_000 });
    expect(await cache.segmentOf('usr_1')).toBe('member');
    expect(await cache.segmentOf('usr_1')).toBe('member');
    expect(await cache.segmentOf('usr_2')).toBe('standard');
    expect(customers.asked).toEqual(['usr_1', 'usr_2']);
  });

  it('asks again once the entry is older than its TTL, and never with a TTL of 0', async () => {
    let now = 0;
    const customers = counting({});
    const cache = new SegmentCache(customers.lookup, { ttlMs: 1_000, now: () => now });
    await cache.segmentOf('usr_1');
    now = 999;
    await cache.segmentOf('usr_1');
    now = 1_000;
    await cache.segmentOf('usr_1');
    expect(customers.asked).toEqual(['usr_1', 'usr_1']);
    const uncached = new SegmentCache(customers.lookup, { ttlMs: 0 });
    await uncached.segmentOf('usr_3');
    await uncached.segmentOf('usr_3');
    expect(customers.asked.filter((id) => id === 'usr_3')).toHaveLength(2);
  });

  it('forgets a customer on customer.updated, and uses the new segment at once', async () => {
    const segments: Record<string, string> = { usr_1: 'standard' };
    const customers = counting(segments);
    const cache = new SegmentCache(customers.lookup, { ttlMs: 30_000 });
    expect(await cache.segmentOf('usr_1')).toBe('standard');
    segments.usr_1 = 'member';
    const consumer = customerUpdatedConsumer(cache);
    const envelope = createEnvelope({
      contract: customerUpdated,
      source: 'customer',
      correlationId: 'corr_1',
      data: {
        customer_id: 'usr_1',
        name: 'Ada',
        segment: 'member',
        preferences: { marketing_emails: false, language: 'en', currency: 'EUR' },
      },
    });
    await consumer.handler?.(envelope, undefined as never);
    expect(await cache.segmentOf('usr_1')).toBe('member');
  });

  it('does not keep a segment read while a customer changed (it may predate the change)', async () => {
    let release: (segment: string) => void = () => undefined;
    const cache = new SegmentCache(() => new Promise<string>((resolve) => (release = resolve)), {
      ttlMs: 30_000,
    });
    const first = cache.segmentOf('usr_1');
    cache.forget('usr_1');
    release('standard');
    expect(await first).toBe('standard');
    const second = cache.segmentOf('usr_1');
    release('member');
    expect(await second).toBe('member');
  });

  it('keeps at most maxEntries, dropping the oldest', async () => {
    const customers = counting({});
    const cache = new SegmentCache(customers.lookup, { ttlMs: 30_000, maxEntries: 2 });
    for (const id of ['usr_1', 'usr_2', 'usr_3', 'usr_1']) await cache.segmentOf(id);
    expect(customers.asked).toEqual(['usr_1', 'usr_2', 'usr_3', 'usr_1']);
  });
});
