import type { FastifyInstance, onRequestHookHandler, RouteOptions } from 'fastify';
import type { Identification } from './identification.ts';

const declaresBearer = (schema: RouteOptions['schema']): boolean =>
  Array.isArray((schema as { security?: unknown } | undefined)?.security) &&
  ((schema as { security: Array<Record<string, unknown>> }).security ?? []).some(
    (scheme) => 'bearer' in scheme,
  );

/**
 * Routes that declare `security: [{ bearer: [] }]` (what the OpenAPI document tells clients) get
 * their token checked first, in onRequest: before the body is read and before any validation, so
 * an anonymous caller gets 401 and learns nothing of a protected route's rules. Handlers still
 * read the verified principal (already worked out, so not verified twice) and check ownership.
 */
export function requireTokenWhereDeclared(app: FastifyInstance, identification: Identification): void {
  const authenticate: onRequestHookHandler = async (request) => {
    await identification.requirePrincipal(request);
  };
  app.addHook('onRoute', (route) => {
    if (!declaresBearer(route.schema)) return;
    const existing = route.onRequest;
    route.onRequest = [authenticate, ...(Array.isArray(existing) ? existing : existing ? [existing] : [])];
  });
}
