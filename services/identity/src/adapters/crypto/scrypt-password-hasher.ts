import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';
import type { PasswordHasher } from '../../application/password-hasher.port.ts';

const derive = (password: string, salt: Buffer, length: number, options: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) =>
    scrypt(password, salt, length, options, (error, key) => (error ? reject(error) : resolve(key))),
  );

/**
 * scrypt from Node's crypto (no native addon to build), with its parameters stored in the hash so
 * they can be raised later without invalidating existing passwords.
 */
export class ScryptPasswordHasher implements PasswordHasher {
  readonly #cost: number;

  /** `cost` is scrypt's N (a power of two); 2^15 takes ~50 ms here, tests use less. */
  constructor(cost = 2 ** 15) {
    this.#cost = cost;
  }

  async hash(password: string): Promise<string> {
    const salt = randomBytes(16);
    const key = await derive(password, salt, 32, { N: this.#cost, r: 8, p: 1, maxmem: 256 * this.#cost * 8 });
    return ['scrypt', this.#cost, 8, 1, salt.toString('base64url'), key.toString('base64url')].join('$');
  }

  async verify(password: string, stored: string): Promise<boolean> {
    const [scheme, n, r, p, salt, key] = stored.split('$');
    if (scheme !== 'scrypt' || !salt || !key) return false;
    const expected = Buffer.from(key, 'base64url');
    const cost = Number(n);
    const actual = await derive(password, Buffer.from(salt, 'base64url'), expected.length, {
      N: cost,
      r: Number(r),
      p: Number(p),
      maxmem: 256 * cost * Number(r),
    });
    return timingSafeEqual(actual, expected);
  }

  /** A hash in another format. One of scrypt's own with other parameters verifies and is kept. */
  needsRehash(stored: string): boolean {
    return !stored.startsWith('scrypt$');
  }
}
