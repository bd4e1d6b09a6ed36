import {
  databaseConfigShape,
  env,
  grpcServerConfigShape,
  messagingConfigShape,
  serviceConfigShape,
} from '@mercato/chassis';
import { z } from 'zod';

export const identityConfig = z.object({
  ...serviceConfigShape,
  ...databaseConfigShape,
  ...messagingConfigShape,
  ...grpcServerConfigShape(),
  IDENTITY_ISSUER: env.string('mercato-identity'),
  IDENTITY_AUDIENCE: env.string('mercato'),
  IDENTITY_ACCESS_TOKEN_TTL_SECONDS: env.int({ min: 30, max: 86_400, default: 900 }),
  IDENTITY_REFRESH_TOKEN_TTL_SECONDS: env.int({ min: 60, max: 90 * 86_400, default: 30 * 86_400 }),
  IDENTITY_KEY_ROTATION_SECONDS: env.int({ min: 1, max: 365 * 86_400, default: 86_400 }),
  IDENTITY_LOGIN_MAX_FAILURES_PER_EMAIL: env.int({ min: 1, max: 1_000, default: 5 }),
  IDENTITY_LOGIN_MAX_FAILURES_PER_IP: env.int({ min: 1, max: 100_000, default: 20 }),
  IDENTITY_LOGIN_WINDOW_SECONDS: env.int({ min: 1, max: 86_400, default: 900 }),
  /** scrypt N; lower it only for tests. */
  IDENTITY_SCRYPT_COST: env.int({ min: 1_024, max: 1_048_576, default: 32_768 }),
  IDENTITY_SEED_DEMO: env.bool(true),
});

export type IdentityConfig = z.output<typeof identityConfig>;
