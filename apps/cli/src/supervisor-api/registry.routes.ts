import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import * as z from 'zod';
import { type Registry, WATCH_MS } from '../supervisor/registry.ts';

const query = z.object({
  after: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
  watcher: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'expected 1–64 letters, digits, - or _' })
    .optional(),
});

/**
 * `GET /admin/registry`: every service's instances with their addresses and readiness.
 * `?after=<revision>` waits (up to 4 minutes) until the registry has changed past that revision: the
 * services' clients watch it so, and follow a restart or a new instance within a round trip.
 * `&watcher=<id>` says who asks: a release stops a drained instance once every watcher has asked
 * past the revision that took it out (`Registry.propagated`).
 */
export const registryRoutes =
  (registry: Registry): FastifyPluginAsyncZod =>
  async (app) => {
    app.get('/admin/registry', { schema: { querystring: query } }, async (request) => {
      const { after, watcher } = request.query;
      const closed = new AbortController();
      request.raw.once('close', () => closed.abort());
      return registry.next(after, WATCH_MS, closed.signal, watcher);
    });
  };
