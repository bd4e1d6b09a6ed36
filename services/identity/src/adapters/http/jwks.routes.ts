import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { IdentityService } from '../../application/identity-service.ts';

/** The public keys over plain HTTP too, where JWT libraries expect them. */
export const jwksRoutes =
  (identity: IdentityService): FastifyPluginAsyncZod =>
  async (app) => {
    app.get('/.well-known/jwks.json', { schema: { tags: ['identity'] } }, async (_request, reply) => {
      void reply.header('cache-control', 'public, max-age=60');
      return { keys: await identity.jwks() };
    });
  };
