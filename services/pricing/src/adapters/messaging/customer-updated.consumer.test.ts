import { LookupCache } from '@mercato/chassis';
import { createEnvelope, customerUpdated } from '@mercato/contracts';
import { describe, expect, it } from 'vitest';
import { customerUpdatedConsumer } from './customer-updated.consumer.ts';

describe('customer.updated in pricing', () => {
  it("forgets the customer's cached segment, so the next quote uses the new one at once", async () => {
    const segments: Record<string, string> = { usr_1: 'standard' };
    const asked: string[] = [];
    const cache = new LookupCache<string>(
      async (customerId) => {
        asked.push(customerId);
        return segments[customerId] ?? 'standard';
      },
      { ttlMs: 30_000 },
    );
    expect(await cache.get('usr_1')).toBe('standard');
    segments.usr_1 = 'member';
    expect(await cache.get('usr_1')).toBe('standard');
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
    await customerUpdatedConsumer(cache).handler?.(envelope, undefined as never);
    expect(await cache.get('usr_1')).toBe('member');
    expect(asked).toEqual(['usr_1', 'usr_1']);
  });
});
