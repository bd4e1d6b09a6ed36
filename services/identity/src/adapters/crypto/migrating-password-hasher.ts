import type { PasswordHasher } from '../../application/password-hasher.port.ts';
import type { LegacySha256PasswordVerifier } from './legacy-sha256-password-verifier.ts';

/**
 * The hasher login and registration use while accounts taken over from the monolith still hold its
 * hashes: hashes with `current` (scrypt), verifies either format, and names the monolith's hashes
 * as ones to replace once their password is verified.
 */
export class MigratingPasswordHasher implements PasswordHasher {
  readonly #current: PasswordHasher;
  readonly #legacy: LegacySha256PasswordVerifier;
  #decoy: Promise<string> | undefined;

  constructor(current: PasswordHasher, legacy: LegacySha256PasswordVerifier) {
    this.#current = current;
    this.#legacy = legacy;
  }

  hash(password: string): Promise<string> {
    return this.#current.hash(password);
  }

  async verify(password: string, stored: string): Promise<boolean> {
    if (!this.#legacy.recognises(stored)) return this.#current.verify(password, stored);
    // One SHA-256 answers in microseconds, scrypt in tens of milliseconds: a wrong password on a
    // monolith hash also costs a scrypt check, or its speed would tell a guesser which emails
    // belong to customers who have not signed in since the move.
    this.#decoy ??= this.#current.hash('a decoy that no password matches');
    const [valid] = await Promise.all([
      this.#legacy.verify(password, stored),
      this.#current.verify(password, await this.#decoy),
    ]);
    return valid;
  }

  needsRehash(stored: string): boolean {
    return this.#legacy.recognises(stored) || this.#current.needsRehash(stored);
  }
}
