import type { webcrypto } from 'node:crypto';

export interface PublicJwk {
  kty: string;
  crv: string;
  x: string;
  kid: string;
  alg: string;
  use: string;
}

export interface SigningKey {
  kid: string;
  privateKey: webcrypto.CryptoKey;
}

/** The keys access tokens are signed with: the newest signs, older ones stay published a while. */
export interface KeyRing {
  signingKey(): Promise<SigningKey>;
  publicKeys(): Promise<PublicJwk[]>;
}
