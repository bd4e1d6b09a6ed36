import { createRemoteJWKSet, errors, jwtVerify } from 'jose';
import { LRUCache } from 'lru-cache';
import { AppError } from '../errors/app-error.ts';

export interface Principal {
  userId: string;
  roles: string[];
  /** When the token was issued and when it expires (ms since the epoch, from `iat` and `exp`). */
  issuedAt: number;
  expiresAt: number;
}

export interface AuthenticatorSettings {
  jwksUrl: string;
  issuer: string;
  audience: string;
  /** Verified tokens remembered (each until it expires), so a client's next call skips the signature check. */
  cacheSize?: number;
}

const unauthenticated = (message: string, cause?: unknown) =>
  new AppError({ code: 'AUTH.INVALID_TOKEN', kind: 'unauthenticated', message, cause });

/**
 * Verifies identity's access tokens: EdDSA only (so `none` and HS256-with-the-public-key fail),
 * pinned issuer and audience, 30 s clock skew, keys from identity's JWKS (refetched when an unknown
 * `kid` shows up, which is how rotation reaches us).
 */
export function createAuthenticator(settings: AuthenticatorSettings) {
  const jwks = createRemoteJWKSet(new URL(settings.jwksUrl), {
    cooldownDuration: 5_000,
    timeoutDuration: 2_000,
  });
  // Only successes are cached, keyed by the whole token, and never past the token's own expiry, so
  // a cached answer is the answer verification would give again (keys cannot be un-published
  // faster than tokens expire, since identity keeps retired keys in the JWKS while their tokens live).
  const verified = new LRUCache<string, Principal>({
    max: settings.cacheSize ?? 10_000,
  });
  return async (authorization: string | undefined): Promise<Principal> => {
    const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(authorization ?? '');
    if (!match?.[1]) throw unauthenticated('Expected an Authorization: Bearer <access token> header');
    const token = match[1];
    if (token.length > 8_192) throw unauthenticated('The access token is too long');
    const known = verified.get(token);
    if (known && known.expiresAt > Date.now()) return { ...known };
    try {
      const { payload } = await jwtVerify(token, jwks, {
        algorithms: ['EdDSA'],
        issuer: settings.issuer,
        audience: settings.audience,
        clockTolerance: 30,
        requiredClaims: ['sub', 'exp', 'iat'],
      });
      const roles = Array.isArray(payload.roles)
        ? payload.roles.filter((r): r is string => typeof r === 'string')
        : [];
      // exp and iat are required above; the 30 s tolerance is not extended by the cache.
      const principal = {
        userId: String(payload.sub),
        roles,
        issuedAt: (payload.iat ?? 0) * 1000,
        expiresAt: (payload.exp ?? 0) * 1000,
      };
      verified.set(token, principal);
      return principal;
    } catch (error) {
      // A JWKS we cannot fetch is our outage, not a bad token.
      if (error instanceof errors.JWKSTimeout || !(error instanceof errors.JOSEError))
        throw new AppError({
          code: 'AUTH.KEYS_UNAVAILABLE',
          kind: 'unavailable',
          message: 'Cannot check tokens right now',
          cause: error,
        });
      if (error instanceof errors.JWTExpired) throw unauthenticated('The access token has expired', error);
      throw unauthenticated('The access token is not valid', error);
    }
  };
}

export type Authenticator = ReturnType<typeof createAuthenticator>;
