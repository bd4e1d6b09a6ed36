import { afterEach, describe, expect, it, vi } from 'vitest';
import { ulid } from './ulid.ts';

const nextMillisecond = () => {
  const began = Date.now();
  while (Date.now() === began) {
    // Spin: an id in a new millisecond draws 16 fresh random characters.
  }
};

describe('ulid', () => {
  afterEach(() => vi.restoreAllMocks());

  it('draws its random characters from a buffer, not one call to the system per character', () => {
    const draws = vi.spyOn(globalThis.crypto, 'getRandomValues');
    const ids = new Set<string>();
    for (let i = 0; i < 100; i += 1) {
      nextMillisecond();
      ids.add(ulid());
    }
    expect(ids.size).toBe(100);
    // 100 ids × 16 characters = 1,600 bytes: at most one refill of 4 KiB (plus the one under way).
    expect(draws.mock.calls.length).toBeLessThanOrEqual(2);
  });

  it('is 26 Crockford base-32 characters, increasing within a millisecond', () => {
    const ids = Array.from({ length: 1_000 }, () => ulid());
    for (const id of ids) expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect([...ids].sort()).toEqual(ids);
  });
});
