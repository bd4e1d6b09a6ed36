import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const digest = (salt: string, password: string): string =>
  createHash('sha256').update(`${salt}${password}`, 'utf8').digest('hex');

/**
 * The monolith's password format, `sha256$<salt>$<hex of sha256(salt + password)>`: weak, but the
 * one its rows hold (identity re-hashes with scrypt after the move). New customers get a random salt.
 */
export const hashLegacyPassword = (password: string, salt = randomBytes(16).toString('hex')): string =>
  `sha256$${salt}$${digest(salt, password)}`;

/** Whether `password` matches a stored hash, compared in constant time; malformed hashes match nothing. */
export function verifyLegacyPassword(password: string, stored: string): boolean {
  const [scheme, salt, hex, ...rest] = stored.split('$');
  if (scheme !== 'sha256' || salt === undefined || hex === undefined || rest.length > 0) return false;
  const expected = Buffer.from(hex, 'utf8');
  const actual = Buffer.from(digest(salt, password), 'utf8');
  return expected.length === actual.length && timingSafeEqual(actual, expected);
}

/** Checked against when no customer has the email, so that a miss takes as long as a wrong password. */
export const DECOY_HASH = hashLegacyPassword('decoy', 'decoy');
