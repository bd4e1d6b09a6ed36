import { createHash, timingSafeEqual } from 'node:crypto';
import type { Authenticator, Principal } from '@mercato/chassis';
import { AppError, currentRequestContext, mayRead } from '@mercato/chassis';
import type { FastifyRequest } from 'fastify';
import type { BlockedUsers } from './blocked-users.ts';

const API_KEY_HEADER = 'x-api-key';

/** The caller is known but may not do this (403). */
export const forbidden = (message: string) =>
  new AppError({ code: 'AUTH.FORBIDDEN', kind: 'forbidden', message });

const digest = (value: string) => createHash('sha256').update(value).digest();

/** `client:key` pairs from configuration; keys are kept only as digests. */
export function parseApiKeys(entries: readonly string[]): Map<string, Buffer> {
  const keys = new Map<string, Buffer>();
  for (const entry of entries) {
    const at = entry.indexOf(':');
    keys.set(entry.slice(0, at), digest(entry.slice(at + 1)));
  }
  return keys;
}

/**
 * Who is calling, worked out once per request and only when something asks: the verified user
 * behind a bearer token, and the client behind a configured API key. A token or key that is
 * present but wrong is a 401, never "anonymous". The verified user id goes into the request
 * context, so every upstream call carries it.
 */
export function createIdentification(
  authenticate: Authenticator,
  apiKeys: ReadonlyMap<string, Buffer>,
  blocked?: BlockedUsers,
) {
  const principals = new WeakMap<FastifyRequest, Promise<Principal | undefined>>();

  const principal = (request: FastifyRequest): Promise<Principal | undefined> => {
    let known = principals.get(request);
    if (!known) {
      const header = request.headers.authorization;
      known =
        header === undefined
          ? Promise.resolve(undefined)
          : authenticate(header).then((verified) => {
              // A valid signature, but its user was blocked after it was issued.
              if (blocked?.revokes(verified))
                throw new AppError({
                  code: 'AUTH.TOKEN_REVOKED',
                  kind: 'unauthenticated',
                  message: 'The access token was revoked; sign in again',
                });
              const context = currentRequestContext();
              if (context) {
                context.userId = verified.userId;
                context.userToken = header;
              }
              return verified;
            });
      principals.set(request, known);
    }
    return known;
  };

  const requirePrincipal = async (request: FastifyRequest): Promise<Principal> => {
    const found = await principal(request);
    if (!found)
      throw new AppError({
        code: 'AUTH.MISSING_TOKEN',
        kind: 'unauthenticated',
        message: 'Expected an Authorization: Bearer <access token> header',
      });
    return found;
  };

  /** The customer `customerId`, or an admin; anyone else gets 403 (ARCHITECTURE §8). */
  const requireOwner = async (request: FastifyRequest, customerId: string): Promise<Principal> => {
    const caller = await requirePrincipal(request);
    if (!mayRead(caller, customerId)) throw forbidden('You can only read your own data');
    return caller;
  };

  /** The client named by a configured `X-API-Key`, undefined without one, 401 for a wrong one. */
  const apiClient = (request: FastifyRequest): string | undefined => {
    const raw = request.headers[API_KEY_HEADER];
    if (raw === undefined) return undefined;
    const presented = digest(Array.isArray(raw) ? (raw[0] ?? '') : raw);
    for (const [client, key] of apiKeys) if (timingSafeEqual(presented, key)) return client;
    throw new AppError({ code: 'AUTH.INVALID_API_KEY', kind: 'unauthenticated', message: 'Unknown API key' });
  };

  return { principal, requirePrincipal, requireOwner, apiClient };
}

export type Identification = ReturnType<typeof createIdentification>;
