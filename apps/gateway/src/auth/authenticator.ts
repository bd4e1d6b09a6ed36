import { AppError } from '@mercato/chassis';
import { createRemoteJWKSet, errors, jwtVerify } from 'jose';

export interface Principal {
  userId: string;
  roles: string[];
}

export interface AuthenticatorSettings {
  jwksUrl: string;
  issuer: string;
  audience: string;
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
  return async (authorization: string | undefined): Promise<Principal> => {
    const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(authorization ?? '');
    if (!match?.[1]) throw unauthenticated('Expected an Authorization: Bearer <access token> header');
    if (match[1].length > 8_192) throw unauthenticated('The access token is too long');
    try {
      const { payload } = await jwtVerify(match[1], jwks, {
        algorithms: ['EdDSA'],
        issuer: settings.issuer,
        audience: settings.audience,
        clockTolerance: 30,
        requiredClaims: ['sub', 'exp', 'iat'],
      });
      const roles = Array.isArray(payload.roles)
        ? payload.roles.filter((r): r is string => typeof r === 'string')
        : [];
      return { userId: String(payload.sub), roles };
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
