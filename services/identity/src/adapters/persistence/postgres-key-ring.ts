import { randomUUID, type webcrypto } from 'node:crypto';
import { inTransaction, type Pool } from '@mercato/chassis';
import { exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import type { KeyRing, PublicJwk, SigningKey } from '../../application/key-ring.port.ts';

type CryptoKey = webcrypto.CryptoKey;

export interface KeyRingPolicy {
  /** A new key signs after this long. */
  rotationMs: number;
  /** How long a retired key stays published: at least the access token lifetime. */
  overlapMs: number;
}

/**
 * Ed25519 signing keys in identity's database, shared by every replica. The newest key signs;
 * older keys stay in the JWKS until tokens they signed have expired. Private keys sit in the
 * service's own database here; a production deployment would keep them in a KMS.
 */
export class PostgresKeyRing implements KeyRing {
  readonly #pool: Pool;
  readonly #policy: KeyRingPolicy;
  readonly #now: () => Date;
  #current: { kid: string; privateKey: CryptoKey; createdAt: Date } | undefined;

  constructor(pool: Pool, policy: KeyRingPolicy, now: () => Date) {
    this.#pool = pool;
    this.#policy = policy;
    this.#now = now;
  }

  /** The key to sign with now, rotating first when the current one is due. */
  async signingKey(): Promise<SigningKey> {
    const now = this.#now().getTime();
    if (this.#current && now - this.#current.createdAt.getTime() < this.#policy.rotationMs)
      return this.#current;
    this.#current = await this.#newestOrRotate();
    return this.#current;
  }

  async publicKeys(): Promise<PublicJwk[]> {
    await this.signingKey();
    const { rows } = await this.#pool.query<{ public_jwk: PublicJwk; created_at: Date }>(
      'SELECT public_jwk, created_at FROM signing_keys ORDER BY created_at DESC',
    );
    const cutoff = this.#now().getTime() - this.#policy.rotationMs - this.#policy.overlapMs;
    return rows
      .filter((row, index) => index === 0 || row.created_at.getTime() > cutoff)
      .map((row) => row.public_jwk);
  }

  async #newestOrRotate(): Promise<{ kid: string; privateKey: CryptoKey; createdAt: Date }> {
    return inTransaction(this.#pool, async (client) => {
      // One replica rotates; the others wait here and then read its key.
      await client.query("SELECT pg_advisory_xact_lock(hashtext('identity.signing_keys'))");
      const { rows } = await client.query<{ kid: string; private_jwk: JWK; created_at: Date }>(
        'SELECT kid, private_jwk, created_at FROM signing_keys ORDER BY created_at DESC LIMIT 1',
      );
      const newest = rows[0];
      const now = this.#now();
      if (newest && now.getTime() - newest.created_at.getTime() < this.#policy.rotationMs) {
        const privateKey = (await importJWK(newest.private_jwk, 'EdDSA')) as CryptoKey;
        return { kid: newest.kid, privateKey, createdAt: newest.created_at };
      }
      const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
      const kid = randomUUID();
      const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' };
      await client.query(
        'INSERT INTO signing_keys (kid, private_jwk, public_jwk, created_at) VALUES ($1, $2, $3, $4)',
        [kid, await exportJWK(privateKey), publicJwk, now],
      );
      return { kid, privateKey, createdAt: now };
    });
  }
}
