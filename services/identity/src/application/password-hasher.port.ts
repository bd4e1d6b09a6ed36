/** One-way password hashing; the hash carries its own parameters. */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(password: string, stored: string): Promise<boolean>;
  /**
   * Whether `stored` is in a format `hash` no longer writes (the monolith's salted SHA-256): once
   * its password is verified, it is to be replaced by `hash` of it.
   */
  needsRehash(stored: string): boolean;
}
