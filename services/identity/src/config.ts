import {
  databaseConfigShape,
  env,
  grpcServerConfigShape,
  messagingConfigShape,
  serviceConfigShape,
} from '@mercato/chassis';
import * as z from 'zod';

export const identityConfig = z.object({
  ...serviceConfigShape,
  ...databaseConfigShape,
  ...messagingConfigShape,
  ...grpcServerConfigShape(),
  IDENTITY_ISSUER: env.string('mercato-identity'),
  IDENTITY_AUDIENCE: env.string('mercato'),
  /** Short in tests (a stream must end when its token does), 15 minutes by default. */
  IDENTITY_ACCESS_TOKEN_TTL_SECONDS: env.int({ min: 5, max: 86_400, default: 900 }),
  IDENTITY_REFRESH_TOKEN_TTL_SECONDS: env.int({ min: 60, max: 90 * 86_400, default: 30 * 86_400 }),
  IDENTITY_KEY_ROTATION_SECONDS: env.int({ min: 1, max: 365 * 86_400, default: 86_400 }),
  // Login throttling (domain/login-throttle.ts): failures allowed before attempts are held back,
  // per client on an account (email and IP), per account (from any IP) and per IP (spraying).
  IDENTITY_LOGIN_FREE_FAILURES_PER_CLIENT: env.int({ min: 1, max: 1_000, default: 5 }),
  IDENTITY_LOGIN_FREE_FAILURES_PER_EMAIL: env.int({ min: 1, max: 10_000, default: 10 }),
  IDENTITY_LOGIN_FREE_FAILURES_PER_IP: env.int({ min: 1, max: 100_000, default: 20 }),
  /** The first hold after the free failures; each further failure doubles it, up to the max. */
  IDENTITY_LOGIN_FIRST_DELAY_MS: env.int({ min: 1, max: 3_600_000, default: 1_000 }),
  IDENTITY_LOGIN_MAX_DELAY_SECONDS: env.int({ min: 1, max: 86_400, default: 900 }),
  /** A key's failures are forgotten this long after its last one. */
  IDENTITY_LOGIN_WINDOW_SECONDS: env.int({ min: 1, max: 86_400, default: 900 }),
  /** scrypt N; lower it only for tests. */
  IDENTITY_SCRYPT_COST: env.int({ min: 1_024, max: 1_048_576, default: 32_768 }),
  IDENTITY_SEED_DEMO: env.bool(true),
});

export type IdentityConfig = z.output<typeof identityConfig>;
