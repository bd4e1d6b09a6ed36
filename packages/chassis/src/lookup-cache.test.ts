import { describe, expect, it } from 'vitest';
import { LookupCache } from './lookup-cache.ts';

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

describe('LookupCache', () => {
  it('asks once per key while the entry is fresh', async () => {
    const customers = counting({ usr_1: 'member' });
    const cache = new LookupCache(customers.lookup, { ttlMs: 30_000 });
    expect(await cache.get('usr_1')).toBe('member');
    expect(await cache.get('usr_1')).toBe('member');
    expect(await cache.get('usr_2')).toBe('standard');
    expect(customers.asked).toEqual(['usr_1', 'usr_2']);
  });

  it('asks again once the entry is older than its TTL, and never with a TTL of 0', async () => {
    let now = 0;
    const customers = counting({});
    const cache = new LookupCache(customers.lookup, { ttlMs: 1_000, now: () => now });
    await cache.get('usr_1');
    now = 999;
    await cache.get('usr_1');
    now = 1_000;
    await cache.get('usr_1');
    expect(customers.asked).toEqual(['usr_1', 'usr_1']);
    const uncached = new LookupCache(customers.lookup, { ttlMs: 0 });
    await uncached.get('usr_3');
    await uncached.get('usr_3');
    expect(customers.asked.filter((id) => id === 'usr_3')).toHaveLength(2);
  });

  it("forgets a key on its owner's change, and asks again at once", async () => {
    const segments: Record<string, string> = { usr_1: 'standard' };
    const customers = counting(segments);
    const cache = new LookupCache(customers.lookup, { ttlMs: 30_000 });
    expect(await cache.get('usr_1')).toBe('standard');
    segments.usr_1 = 'member';
    cache.forget('usr_1');
    expect(await cache.get('usr_1')).toBe('member');
  });

  it('does not keep a value read while a key was forgotten (it may predate the change)', async () => {
    let release: (segment: string) => void = () => undefined;
    const cache = new LookupCache(() => new Promise<string>((resolve) => (release = resolve)), {
      ttlMs: 30_000,
    });
    const first = cache.get('usr_1');
    cache.forget('usr_1');
    release('standard');
    expect(await first).toBe('standard');
    const second = cache.get('usr_1');
    release('member');
    expect(await second).toBe('member');
  });

  it('keeps at most maxEntries, dropping the oldest', async () => {
    const customers = counting({});
    const cache = new LookupCache(customers.lookup, { ttlMs: 30_000, maxEntries: 2 });
    for (const id of ['usr_1', 'usr_2', 'usr_3', 'usr_1']) await cache.get(id);
    expect(customers.asked).toEqual(['usr_1', 'usr_2', 'usr_3', 'usr_1']);
  });

  it('does not keep what `keep` refuses, so an absence is asked about again', async () => {
    const contacts: Record<string, string | undefined> = {};
    const asked: string[] = [];
    const cache = new LookupCache<string | undefined>(
      async (id) => {
        asked.push(id);
        return contacts[id];
      },
      { ttlMs: 30_000, keep: (value) => value !== undefined },
    );
    expect(await cache.get('usr_9')).toBeUndefined();
    contacts.usr_9 = 'ada@example.com';
    expect(await cache.get('usr_9')).toBe('ada@example.com');
    expect(await cache.get('usr_9')).toBe('ada@example.com');
    expect(asked).toEqual(['usr_9', 'usr_9']);
  });

  it('keeps a value learnt from elsewhere, and asks for it only once it is older than the TTL', async () => {
    let now = 0;
    const customers = counting({ usr_1: 'member' });
    const cache = new LookupCache(customers.lookup, { ttlMs: 1_000, now: () => now });
    cache.remember('usr_1', 'gold');
    expect(await cache.get('usr_1')).toBe('gold');
    now = 1_000;
    expect(await cache.get('usr_1')).toBe('member');
    expect(customers.asked).toEqual(['usr_1']);
  });
});
