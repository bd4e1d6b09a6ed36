import type { FastifyRequest } from 'fastify';
import { forbidden, type Identification } from './identification.ts';

/**
 * Enforces a route's `auth: required` and `roles` from the routing table before rate limits,
 * proxying or handlers run, so routes forwarded as they are (to a legacy backend) are guarded too.
 * Handlers still check ownership of the ids they are given.
 */
export function createAuthorizationStep(identification: Identification) {
  const check = async (request: FastifyRequest, roles: readonly string[]) => {
    const principal = await identification.requirePrincipal(request);
    if (roles.length > 0 && !roles.some((role) => principal.roles.includes(role)))
      throw forbidden(`This route needs one of the roles: ${roles.join(', ')}`);
  };
  /** Undefined (nothing to wait for) on routes that do not require a token. */
  return (request: FastifyRequest): Promise<void> | undefined => {
    const { auth } = request.gatewayRoute;
    return auth.required ? check(request, auth.roles) : undefined;
  };
}
