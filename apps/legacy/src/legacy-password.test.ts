import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashLegacyPassword, verifyLegacyPassword } from './legacy-password.ts';

describe('legacy passwords', () => {
  it("verifies the seed's hashes: customer n has password legacy-<n> salted with s<n>", () => {
    const seeded = `sha256$s42$${createHash('sha256').update('s42legacy-42').digest('hex')}`;
    expect(verifyLegacyPassword('legacy-42', seeded)).toBe(true);
    expect(verifyLegacyPassword('legacy-43', seeded)).toBe(false);
  });

  it('salts new hashes at random, in the same format', () => {
    const first = hashLegacyPassword('correct horse');
    expect(first).toMatch(/^sha256\$[0-9a-f]{32}\$[0-9a-f]{64}$/);
    expect(hashLegacyPassword('correct horse')).not.toBe(first);
    expect(verifyLegacyPassword('correct horse', first)).toBe(true);
  });

  it('matches nothing against a malformed hash', () => {
    for (const stored of ['', 'sha256$s1', 'md5$s1$abc', 'sha256$s1$abc', `sha256$a$b$${'0'.repeat(64)}`])
      expect(verifyLegacyPassword('legacy-1', stored)).toBe(false);
  });
});
