import { createHash, timingSafeEqual } from 'node:crypto';

const format = /^sha256\$([^$]*)\$([0-9a-f]{64})$/;

/**
 * Checks passwords against the monolith's hashes, `sha256$<salt>$<hex of sha256(salt + password)>`,
 * for as long as a taken-over account still holds one: only verifies, never hashes (identity writes
 * scrypt; see MigratingPasswordHasher).
 */
export class LegacySha256PasswordVerifier {
  /** Whether `stored` is in the monolith's format (a malformed one is not, and matches nothing). */
  recognises(stored: string): boolean {
    return format.test(stored);
  }

  /** Whether `password` is the one hashed, compared in constant time. */
  verify(password: string, stored: string): boolean {
    const [, salt, hex] = format.exec(stored) ?? [];
    if (salt === undefined || hex === undefined) return false;
    const actual = createHash('sha256').update(`${salt}${password}`, 'utf8').digest();
    return timingSafeEqual(actual, Buffer.from(hex, 'hex'));
  }
}
