import { randomBytes } from 'node:crypto';
import { createEnvelope, userRegistered } from '@mercato/contracts';
import { SignJWT } from 'jose';
import { retryAfterSeconds, type ThrottlePolicy } from '../domain/login-throttle.ts';
import type { Accounts, NewRefreshToken, UserRecord } from './accounts.port.ts';
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
  };
}

export type IdentityService = ReturnType<typeof identityService>;
