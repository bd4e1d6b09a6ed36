import type { TokenPair } from '@mercato/contracts/grpc/identity';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import * as z from 'zod';
import type { Upstreams } from '../upstreams/upstreams.ts';
import { problems } from './edge-schemas.ts';

const tokens = z.object({
  access_token: z.string(),
  refresh_token: z.string(),
  expires_in: z.number(),
  token_type: z.string(),
});

const toTokens = (pair: TokenPair | undefined) => ({
  access_token: pair?.accessToken ?? '',
  refresh_token: pair?.refreshToken ?? '',
  expires_in: pair?.expiresIn ?? 0,
  token_type: pair?.tokenType ?? 'Bearer',
});

/** Registration, login and refresh, and identity's public keys. */
export const authEdgeRoutes =
  (upstreams: Upstreams): FastifyPluginAsyncZod =>
  async (app) => {
    app.post(
      '/api/auth/register',
      {
        schema: {
          tags: ['auth'],
          summary: 'Create an account',
          body: z.object({
            email: z.string().max(254),
            password: z.string().max(128),
            name: z.string().max(100),
          }),
          response: {
            201: z.object({ user_id: z.string(), email: z.string(), name: z.string() }),
            ...problems,
          },
        },
      },
      async (request, reply) => {
        const user = await upstreams.for(request).identity.client.register(request.body);
        return reply.status(201).send({ user_id: user.userId, email: user.email, name: user.name });
      },
    );

    app.post(
      '/api/auth/login',
      {
        schema: {
          tags: ['auth'],
          summary: 'Exchange email and password for tokens',
          body: z.object({ email: z.string().max(254), password: z.string().max(128) }),
          response: { 200: tokens, ...problems },
        },
      },
      async (request) =>
        toTokens(
          (await upstreams.for(request).identity.client.login({ ...request.body, clientIp: request.ip }))
            .tokens,
        ),
    );

    app.post(
      '/api/auth/refresh',
      {
        schema: {
          tags: ['auth'],
          summary: 'Exchange a refresh token for new tokens (the old one is spent)',
          body: z.object({ refresh_token: z.string().max(256) }),
          response: { 200: tokens, ...problems },
        },
      },
      async (request) =>
        toTokens(
          (await upstreams.for(request).identity.client.refresh({ refreshToken: request.body.refresh_token }))
            .tokens,
        ),
    );

    app.get(
      '/.well-known/jwks.json',
      { schema: { tags: ['auth'], summary: "identity's public signing keys" } },
      async (request, reply) => {
        void reply.header('cache-control', 'public, max-age=60');
        return {
          keys: (await upstreams.for(request).identity.client.getJwks({})).keys.map(
            ({ $typeName: _, ...key }) => key,
          ),
        };
      },
    );
  };
