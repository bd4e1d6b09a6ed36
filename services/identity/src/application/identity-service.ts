import { randomBytes } from 'node:crypto';
import { createEnvelope, userRegistered } from '@mercato/contracts';
import { SignJWT } from 'jose';
import {
  afterFailure,
  type LoginThrottlePolicies,
  loginVerdict,
  type ThrottlePolicy,
} from '../domain/login-throttle.ts';
import type { Accounts, BlockedUser, NewRefreshToken, UserRecord } from './accounts.port.ts';
import { identityErrors } from './identity-errors.ts';
import type { KeyRing } from './key-ring.port.ts';
import type { PasswordHasher } from './password-hasher.port.ts';

export interface TokenSettings {
  issuer: string;
  audience: string;
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
}

export interface IdentityDependencies {
  accounts: Accounts;
  keys: KeyRing;
  hasher: PasswordHasher;
  tokens: TokenSettings;
  throttle: LoginThrottlePolicies;
  newId: (prefix: string) => string;
  now: () => Date;
  correlationId: () => string;
}

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  tokenType: 'Bearer';
}

export function identityService(deps: IdentityDependencies) {
  const { accounts, tokens } = deps;
  // Hashing a fixed dummy when the email is unknown keeps login time the same either way.
  const dummyHash = deps.hasher.hash('not a real password');

  /** A new token pair; the refresh token is for the caller to store. */
  const tokenPair = async (
    user: UserRecord,
    familyId: string,
  ): Promise<{ issued: TokenPair; successor: NewRefreshToken }> => {
    const now = deps.now();
    const key = await deps.keys.signingKey();
    const accessToken = await new SignJWT({ email: user.email, name: user.name, roles: user.roles })
      .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'JWT' })
      .setIssuer(tokens.issuer)
      .setAudience(tokens.audience)
      .setSubject(user.id)
      .setJti(deps.newId('jti'))
      .setIssuedAt(Math.floor(now.getTime() / 1000))
      .setExpirationTime(Math.floor(now.getTime() / 1000) + tokens.accessTtlSeconds)
      .sign(key.privateKey);
    const refreshToken = randomBytes(32).toString('base64url');
    const expiresAt = new Date(now.getTime() + tokens.refreshTtlSeconds * 1000);
    return {
      issued: { accessToken, refreshToken, expiresIn: tokens.accessTtlSeconds, tokenType: 'Bearer' },
      successor: { token: refreshToken, userId: user.id, familyId, expiresAt },
    };
  };

  return {
    /** A new customer; `roles` only for accounts the service seeds itself (the demo admin). */
    async register(
      input: { email: string; password: string; name: string },
      roles: readonly string[] = ['customer'],
    ): Promise<UserRecord> {
      const now = deps.now();
      const user: UserRecord = {
        id: deps.newId('usr'),
        email: input.email,
        name: input.name,
        passwordHash: await deps.hasher.hash(input.password),
        roles: [...roles],
        blockedAt: null,
      };
      const envelope = createEnvelope({
        contract: userRegistered,
        source: 'identity',
        correlationId: deps.correlationId(),
        now,
        data: { user_id: user.id, email: user.email, name: user.name },
      });
      const announced = [
        { kind: 'topic' as const, destination: userRegistered.type, key: user.id, envelope },
      ];
      if (!(await accounts.register(user, announced, now))) throw identityErrors.emailTaken();
      return user;
    },

    async login(input: { email: string; password: string; clientIp: string }): Promise<TokenPair> {
      const now = deps.now();
      // A caller that gave no address (a direct gRPC client) is one client: "unknown".
      const address = input.clientIp || 'unknown';
      const keys = {
        client: `client:${input.email}|${address}`,
        account: `email:${input.email}`,
        address: `ip:${address}`,
      } as const;
      const counted = await accounts.failures(Object.values(keys));
      const verdict = loginVerdict(
        {
          client: counted.get(keys.client),
          account: counted.get(keys.account),
          address: counted.get(keys.address),
        },
        deps.throttle,
        now,
      );
      if (!verdict.allowed) throw identityErrors.throttled(verdict.retryAfterSeconds);
      const user = await accounts.userByEmail(input.email);
      const valid = await deps.hasher.verify(input.password, user?.passwordHash ?? (await dummyHash));
      if (!user || !valid) {
        const policyOf = new Map<string, ThrottlePolicy>(
          (Object.keys(keys) as Array<keyof typeof keys>).map((name) => [keys[name], deps.throttle[name]]),
        );
        await accounts.recordFailure(Object.values(keys), (key, record) =>
          afterFailure(record, policyOf.get(key) ?? deps.throttle.client, now),
        );
        throw identityErrors.badCredentials();
      }
      // Only this client's own count: the account's and the address's still say what others did.
      await accounts.clearFailures(keys.client);
      // A hash taken over from the monolith is replaced at its first verified login, blocked or not:
      // the weak hash is gone from then on, and the monolith's never overwrites identity's.
      if (deps.hasher.needsRehash(user.passwordHash))
        await accounts.replacePasswordHash(
          user.id,
          user.passwordHash,
          await deps.hasher.hash(input.password),
        );
      if (user.blockedAt) throw identityErrors.userBlocked();
      const { issued, successor } = await tokenPair(user, deps.newId('fam'));
      await accounts.storeRefreshToken(successor, now);
      return issued;
    },

    /** Rotates: the old token is spent, a new one is issued in the same family. */
    async refresh(refreshToken: string): Promise<TokenPair> {
      const rotation = await accounts.rotateRefreshToken(refreshToken, deps.now(), tokenPair);
      if (rotation.outcome === 'invalid') throw identityErrors.invalidRefreshToken();
      if (rotation.outcome === 'reused') throw identityErrors.refreshTokenReused();
      return rotation.issued;
    },

    jwks: () => deps.keys.publicKeys(),

    /** Blocks a user: no login, no refresh, and edges end its streams and refuse its tokens. */
    async block(userId: string): Promise<BlockedUser> {
      const blockedAt = await accounts.block(userId, deps.now());
      if (!blockedAt) throw identityErrors.unknownUser(userId);
      return { userId, blockedAt };
    },

    async unblock(userId: string): Promise<void> {
      if (!(await accounts.unblock(userId))) throw identityErrors.unknownUser(userId);
    },

    /** Blocks whose users may still hold a live access token: those within a token's lifetime. */
    recentlyBlocked: () =>
      accounts.blockedSince(new Date(deps.now().getTime() - (tokens.accessTtlSeconds + 60) * 1000)),
  };
}

export type IdentityService = ReturnType<typeof identityService>;
