import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { type Authenticator, createAuthenticator, type JwksLocation } from '../auth/token-verifier.ts';
import { type Discovery, httpInstances } from '../discovery/discovery.ts';
import { AppError } from '../errors/app-error.ts';
import { requestPath } from './create-http-server.ts';

export interface AdminGuardSettings {
  /** A per-run secret (the supervisor writes it to `.mercato/run/admin-token`). */
  adminToken?: string | undefined;
  /** Verifies identity's access tokens; a verified token with the `admin` role is let in. */
  verifyToken?: Authenticator | undefined;
}

// Case-insensitive: stricter than the router (which tells /ADMIN from /admin), never looser.
const ADMIN_PATH = /^\/admin(\/|$)/i;

/**
 * Whether a request is for an admin route: judged on the canonical path the router matched and on
 * the route it matched, never on the raw target (`/%61dmin/…` is `/admin/…` to the router).
 */
const isAdminRequest = (request: FastifyRequest): boolean =>
  ADMIN_PATH.test(requestPath(request)) || ADMIN_PATH.test(request.routeOptions.url ?? '');

const digest = (value: string) => createHash('sha256').update(value).digest();

const adminRequired = (message: string) =>
  new AppError({ code: 'AUTH.ADMIN_REQUIRED', kind: 'unauthenticated', message });

/**
 * The check in front of every `/admin/*` route of a service: the run's admin token, or an access
 * token from identity that carries the `admin` role. No credential or a bad one → 401; a valid
 * token without the role → 403. With neither configured, admin routes are closed to everyone.
 */
export function createAdminGuard(settings: AdminGuardSettings) {
  const expected = settings.adminToken ? digest(settings.adminToken) : undefined;
  return async (request: FastifyRequest): Promise<void> => {
    if (!isAdminRequest(request)) return;
    const header = request.headers.authorization;
    if (!header) throw adminRequired('Admin endpoints need Authorization: Bearer <admin token>');
    const bearer = /^Bearer (\S+)$/.exec(header)?.[1];
    if (!bearer) throw adminRequired('Expected Authorization: Bearer <admin token>');
    // Compared as digests, in constant time, so neither length nor content leaks through timing.
    if (expected && timingSafeEqual(digest(bearer), expected)) return;
    if (!settings.verifyToken) throw adminRequired('Not a valid admin token');
    const principal = await settings.verifyToken(header);
    if (!principal.roles.includes('admin'))
      throw new AppError({
        code: 'AUTH.FORBIDDEN',
        kind: 'forbidden',
        message: 'Admin endpoints need the admin role',
      });
  };
}

/**
 * The guard's settings from a service's config (`serviceConfigShape`): tokens are checked against
 * ADMIN_JWKS_URL when set, else against identity's JWKS, found by name (`discovery`) when it can
 * name identity.
 */
export function adminGuardSettings(
  config: {
    MERCATO_ADMIN_TOKEN?: string | undefined;
    ADMIN_JWKS_URL?: string | undefined;
    JWT_ISSUER?: string;
    JWT_AUDIENCE?: string;
  },
  discovery?: Discovery,
): AdminGuardSettings {
  const jwksUrl: JwksLocation | undefined = config.ADMIN_JWKS_URL
    ? config.ADMIN_JWKS_URL
    : discovery?.knows('identity', 'http')
      ? identityJwks(discovery)
      : undefined;
  return {
    adminToken: config.MERCATO_ADMIN_TOKEN,
    verifyToken: jwksUrl
      ? createAuthenticator({
          jwksUrl,
          issuer: config.JWT_ISSUER ?? 'mercato-identity',
          audience: config.JWT_AUDIENCE ?? 'mercato',
          cacheSize: 100,
        })
      : undefined,
  };
}

/** identity's JWKS at whichever of its instances answers next. */
export function identityJwks(discovery: Discovery): () => string | undefined {
  const instances = httpInstances(discovery.endpoints('identity', 'http'));
  return () => {
    // The key set is fetched (and cached) by jose, which says nothing back: no outcome to record.
    const lease = instances.pick();
    lease?.end('cancelled');
    return lease ? `${lease.address}/.well-known/jwks.json` : undefined;
  };
}
