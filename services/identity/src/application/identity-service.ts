import { randomBytes } from 'node:crypto';
import { inTransaction, type Outbox, type Pool } from '@mercato/chassis';
import { createEnvelope, userRegistered } from '@mercato/contracts';
import { SignJWT } from 'jose';
import type { ScryptPasswordHasher } from '../adapters/crypto/scrypt-password-hasher.ts';
import type { PostgresAccounts, UserRecord } from '../adapters/persistence/postgres-accounts.ts';
import type { PostgresKeyRing } from '../adapters/persistence/postgres-key-ring.ts';
import { retryAfterSeconds, type ThrottlePolicy } from '../domain/login-throttle.ts';
import { identityErrors } from './identity-errors.ts';

export interface TokenSettings {
  issuer: string;
  audience: string;
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
}

export interface IdentityDependencies {
  pool: Pool;
  outbox: Outbox;
  accounts: PostgresAccounts;
  keys: PostgresKeyRing;
  hasher: ScryptPasswordHasher;
  tokens: TokenSettings;
  throttle: { perEmail: ThrottlePolicy; perIp: ThrottlePolicy };
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

  const issue = async (
    user: UserRecord,
    familyId: string,
    client?: Parameters<PostgresAccounts['storeRefreshToken']>[0],
  ): Promise<TokenPair> => {
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
    await accounts.storeRefreshToken(
      client ?? deps.pool,
      refreshToken,
      { userId: user.id, familyId, expiresAt },
      now,
    );
    return { accessToken, refreshToken, expiresIn: tokens.accessTtlSeconds, tokenType: 'Bearer' };
  };

  return {
    async register(input: { email: string; password: string; name: string }): Promise<UserRecord> {
      const now = deps.now();
      const user: UserRecord = {
        id: deps.newId('usr'),
        email: input.email,
        name: input.name,
        passwordHash: await deps.hasher.hash(input.password),
        roles: ['customer'],
      };
      await inTransaction(deps.pool, async (client) => {
        if (!(await accounts.insertUser(client, user, now))) throw identityErrors.emailTaken();
        const envelope = createEnvelope({
          contract: userRegistered,
          source: 'identity',
          correlationId: deps.correlationId(),
          now,
          data: { user_id: user.id, email: user.email, name: user.name },
        });
        await deps.outbox.append(client, [
          { kind: 'topic', destination: userRegistered.type, key: user.id, envelope },
        ]);
      });
      return user;
    },

    async login(input: { email: string; password: string; clientIp: string }): Promise<TokenPair> {
      const now = deps.now();
      const keys = [
        { key: `email:${input.email}`, policy: deps.throttle.perEmail },
        ...(input.clientIp ? [{ key: `ip:${input.clientIp}`, policy: deps.throttle.perIp }] : []),
      ];
      for (const { key, policy } of keys) {
        const wait = retryAfterSeconds(await accounts.failureWindow(key), policy, now);
        if (wait > 0) throw identityErrors.throttled(wait);
      }
      const user = await accounts.userByEmail(input.email);
      const valid = await deps.hasher.verify(input.password, user?.passwordHash ?? (await dummyHash));
      if (!user || !valid) {
        for (const { key, policy } of keys) await accounts.recordFailure(key, policy, now);
        throw identityErrors.badCredentials();
      }
      await accounts.clearFailures(`email:${input.email}`);
      return issue(user, deps.newId('fam'));
    },

    /** Rotates: the old token is spent, a new one is issued in the same family. */
    async refresh(refreshToken: string): Promise<TokenPair> {
      const now = deps.now();
      const outcome = await inTransaction(deps.pool, async (client) => {
        const record = await accounts.lockRefreshToken(client, refreshToken);
        if (!record || record.revokedAt || record.expiresAt.getTime() <= now.getTime())
          return 'invalid' as const;
        if (record.usedAt) {
          // Someone replayed a spent token: the family may be stolen, so end the whole session.
          await accounts.revokeFamily(client, record.familyId, now);
          return 'reused' as const;
        }
        const user = await accounts.userById(client, record.userId);
        if (!user) return 'invalid' as const;
        await accounts.markUsed(client, refreshToken, now);
        return issue(user, record.familyId, client);
      });
      if (outcome === 'invalid') throw identityErrors.invalidRefreshToken();
      if (outcome === 'reused') throw identityErrors.refreshTokenReused();
      return outcome;
    },

    jwks: () => deps.keys.publicKeys(),
  };
}

export type IdentityService = ReturnType<typeof identityService>;
