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

/** Whether `caller` may read what belongs to customer `customerId`: that customer, or an admin. */
export const mayRead = (caller: Principal, customerId: string): boolean =>
  caller.userId === customerId || caller.roles.includes('admin');

/** Where the JWKS is: a fixed URL, or one found anew for each fetch (an instance found by name). */
export type JwksLocation = string | (() => string | undefined);

export interface AuthenticatorSettings {
  jwksUrl: JwksLocation;
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
  const jwks = remoteKeys(settings.jwksUrl);
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

type KeySet = ReturnType<typeof createRemoteJWKSet>;

/**
 * jose's remote key set, one per URL it is found at (each keeps its own cache and cooldown). With
 * no instance to ask, verification fails as a JWKS timeout would: our outage, not a bad token.
 */
function remoteKeys(location: JwksLocation): KeySet {
  const at = (url: string) =>
    createRemoteJWKSet(new URL(url), { cooldownDuration: 5_000, timeoutDuration: 2_000 });
  if (typeof location === 'string') return at(location);
  const sets = new Map<string, KeySet>();
  const keys = (async (header, token) => {
    const url = location();
    if (!url) throw new errors.JWKSTimeout('no instance of identity is available to fetch keys from');
    let set = sets.get(url);
    if (!set) {
      set = at(url);
      sets.set(url, set);
      // identity's instances come and go (releases): the key sets of ones long gone are let go.
      if (sets.size > 16) sets.delete(sets.keys().next().value as string);
    }
    return set(header, token);
  }) as KeySet;
  return keys;
}
