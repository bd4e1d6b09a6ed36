import { describe, expect, it } from 'vitest';
import { newId } from './ids.ts';

describe('newId', () => {
  it('is the prefix and a 26-character ULID, unique and increasing in the order made', () => {
    const ids = Array.from({ length: 20_000 }, () => newId('req'));
    for (const id of ids.slice(0, 100)) expect(id).toMatch(/^req_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it('uses every character of the alphabet in the random part', () => {
    // Ids made in different milliseconds start from fresh random characters (not an increment).
    const seen = new Set<string>();
    for (let i = 0; i < 400; i += 1) {
      for (const char of newId('x').slice(12)) seen.add(char);
      const began = Date.now();
      while (Date.now() === began) {
        // The next millisecond.
      }
    }
    expect(seen.size).toBe(32);
  });
});
