import type { ConnectRouter } from '@connectrpc/connect';
import { BoundedQueue, parseRequest } from '@mercato/chassis';
import { IdentityService } from '@mercato/contracts/grpc/identity';
import * as z from 'zod';
import type { BlockedUser } from '../../application/accounts.port.ts';
import type { IdentityService as Identity, TokenPair } from '../../application/identity-service.ts';
import { emailSchema, nameSchema, passwordSchema } from '../../domain/credentials.ts';
import type { BlockedUserFeed } from '../persistence/blocked-user-feed.ts';

const registerRequest = z.object({ email: emailSchema, password: passwordSchema, name: nameSchema });
const loginRequest = z.object({
  email: emailSchema,
  password: z.string().min(1, { error: 'must not be empty' }).max(128),
  clientIp: z.string().max(64),
});
const refreshRequest = z.object({ refreshToken: z.string().min(1, { error: 'must not be empty' }).max(256) });

const toTokens = (pair: TokenPair) => ({
  accessToken: pair.accessToken,
  refreshToken: pair.refreshToken,
  expiresIn: pair.expiresIn,
  tokenType: pair.tokenType,
});

const toBlocked = (user: BlockedUser) => ({ userId: user.userId, blockedAt: user.blockedAt.toISOString() });

export const identityGrpc =
  (identity: Identity, blocks: BlockedUserFeed, stopping: AbortSignal) => (router: ConnectRouter) =>
    router.service(IdentityService, {
      async register(request) {
        const user = await identity.register(parseRequest(registerRequest, request));
        return { userId: user.id, email: user.email, name: user.name };
      },
      async login(request) {
        return { tokens: toTokens(await identity.login(parseRequest(loginRequest, request))) };
      },
      async refresh(request) {
        return {
          tokens: toTokens(await identity.refresh(parseRequest(refreshRequest, request).refreshToken)),
        };
      },
      async getJwks() {
        return { keys: await identity.jwks() };
      },
      async *watchBlockedUsers(_request, context) {
        const queue = new BoundedQueue<BlockedUser>(10_000);
        // Watching first, then reading the recent ones: a block committed in between comes twice, not never.
        const stop = blocks.watch(queue);
        const signal = AbortSignal.any([context.signal, stopping]);
        const end = () => queue.end();
        signal.addEventListener('abort', end);
        try {
          yield { users: (await identity.recentlyBlocked()).map(toBlocked) };
          for await (const user of queue) yield { users: [toBlocked(user)] };
        } finally {
          signal.removeEventListener('abort', end);
          stop();
        }
      },
    });
