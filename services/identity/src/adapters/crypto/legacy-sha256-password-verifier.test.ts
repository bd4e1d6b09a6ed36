import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LegacySha256PasswordVerifier } from './legacy-sha256-password-verifier.ts';

const seeded = (n: number) => `sha256$s${n}$${createHash('sha256').update(`s${n}legacy-${n}`).digest('hex')}`;

describe('LegacySha256PasswordVerifier', () => {
  const verifier = new LegacySha256PasswordVerifier();

  it("verifies the monolith's seeded hashes and nothing else", () => {
    expect(verifier.verify('legacy-42', seeded(42))).toBe(true);
    expect(verifier.verify('legacy-43', seeded(42))).toBe(false);
    expect(verifier.verify('legacy-42 ', seeded(42))).toBe(false);
    expect(verifier.verify('', seeded(42))).toBe(false);
  });

  it('salts with the text before the digest, even an empty one', () => {
    const unsalted = `sha256$$${createHash('sha256').update('pw').digest('hex')}`;
    expect(verifier.verify('pw', unsalted)).toBe(true);
    expect(verifier.verify('pw', unsalted.replace('$$', '$s$'))).toBe(false);
  });

  it('matches no malformed hash, and recognises only its own format', () => {
    const digest = createHash('sha256').update('s1pw').digest('hex');
    for (const stored of [
      '',
      'sha256$s1',
      `md5$s1$${digest}`,
      `sha256$s1$${digest.slice(2)}`,
      `sha256$s1$${digest.toUpperCase()}`,
      `sha256$s$1$${digest}`,
      `sha256$s1$${digest}$`,
      'scrypt$1024$8$1$c2FsdA$a2V5',
    ]) {
      expect(verifier.recognises(stored)).toBe(false);
      expect(verifier.verify('pw', stored)).toBe(false);
    }
    expect(verifier.recognises(`sha256$s1$${digest}`)).toBe(true);
  });
});
