import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LegacySha256PasswordVerifier } from './legacy-sha256-password-verifier.ts';
import { MigratingPasswordHasher } from './migrating-password-hasher.ts';
import { ScryptPasswordHasher } from './scrypt-password-hasher.ts';

describe('MigratingPasswordHasher', () => {
  const scrypt = new ScryptPasswordHasher(2 ** 10);
  const hasher = new MigratingPasswordHasher(scrypt, new LegacySha256PasswordVerifier());
  const legacy = `sha256$s7$${createHash('sha256').update('s7legacy-7').digest('hex')}`;

  it("verifies the monolith's hashes and names them for replacing", async () => {
    expect(await hasher.verify('legacy-7', legacy)).toBe(true);
    expect(await hasher.verify('legacy-8', legacy)).toBe(false);
    expect(hasher.needsRehash(legacy)).toBe(true);
  });

  it('hashes with scrypt, and keeps what it hashed', async () => {
    const hash = await hasher.hash('legacy-7');
    expect(hash).toMatch(/^scrypt\$1024\$/);
    expect(await hasher.verify('legacy-7', hash)).toBe(true);
    expect(await hasher.verify('legacy-8', hash)).toBe(false);
    expect(hasher.needsRehash(hash)).toBe(false);
  });

  it('matches nothing in a format it does not know', async () => {
    expect(await hasher.verify('legacy-7', legacy.replace('sha256', 'sha1'))).toBe(false);
    expect(await hasher.verify('legacy-7', '')).toBe(false);
  });
});
