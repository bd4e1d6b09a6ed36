import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import * as z from 'zod';
import type { IdentityService } from '../../application/identity-service.ts';

const params = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9_-]+$/),
});

/** Operators block and unblock users (behind the admin guard, like every /admin route). */
export const userAdminRoutes =
  (identity: IdentityService): FastifyPluginAsyncZod =>
  async (app) => {
    app.put(
      '/admin/users/:id/block',
      {
        schema: {
          tags: ['operations'],
          summary: 'Block a user: no login, no refresh, streams ended',
          params,
        },
      },
      async ({ params: { id } }) => {
        const { userId, blockedAt } = await identity.block(id);
        return { user_id: userId, blocked_at: blockedAt.toISOString() };
      },
    );
    app.delete(
      '/admin/users/:id/block',
      { schema: { tags: ['operations'], summary: 'Let a blocked user sign in again', params } },
      async ({ params: { id } }, reply) => {
        await identity.unblock(id);
        return reply.code(204).send();
      },
    );
  };
