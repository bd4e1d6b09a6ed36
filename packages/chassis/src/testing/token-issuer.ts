import type { AddressInfo } from 'node:net';
import fastify from 'fastify';
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';

export const ISSUER = 'mercato-identity';
export const AUDIENCE = 'mercato';

/**
 * A stand-in for identity's token side: an Ed25519 key, its JWKS served over HTTP, and a signer,
 * so tests can mint valid (and deliberately broken) access tokens.
 */
export async function startTokenIssuer() {
  const keys = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const publicJwk: JWK = { ...(await exportJWK(keys.publicKey)), kid: 'k1', alg: 'EdDSA', use: 'sig' };
  const server = fastify();
  server.get('/.well-known/jwks.json', async () => ({ keys: [publicJwk] }));
  await server.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;

  const now = () => Math.floor(Date.now() / 1000);
  const claims = (extra: JWTPayload = {}): JWTPayload => ({
    sub: 'usr_a',
    iss: ISSUER,
    aud: AUDIENCE,
    iat: now(),
    exp: now() + 600,
    ...extra,
  });
  const sign = (payload: JWTPayload, header: Record<string, unknown> = {}) =>
    new SignJWT(payload)
      .setProtectedHeader({ alg: 'EdDSA', kid: 'k1', typ: 'JWT', ...header })
      .sign(keys.privateKey);

  return {
    /** Where the gateway's IDENTITY_URL should point. */
    url,
    publicJwk,
    claims,
    sign,
    /** A valid access token for `userId` with `roles`. */
    tokenFor: (userId: string, roles: string[] = ['customer']) => sign(claims({ sub: userId, roles })),
    close: () => server.close(),
  };
}
