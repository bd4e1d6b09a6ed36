import { fileURLToPath } from 'node:url';
import { currentRequestContext, isAppError, newId, type ServiceDefinition } from '@mercato/chassis';
import { identityEvents, legacyCustomerChanged } from '@mercato/contracts';
import { demoAdmin, demoUser } from '@mercato/demo-shop';
import { LegacySha256PasswordVerifier } from './adapters/crypto/legacy-sha256-password-verifier.ts';
import { MigratingPasswordHasher } from './adapters/crypto/migrating-password-hasher.ts';
import { ScryptPasswordHasher } from './adapters/crypto/scrypt-password-hasher.ts';
import { identityGrpc } from './adapters/grpc/identity.grpc.ts';
import { jwksRoutes } from './adapters/http/jwks.routes.ts';
import { userAdminRoutes } from './adapters/http/user-admin.routes.ts';
import { legacyCustomerChangedConsumer } from './adapters/messaging/legacy-customer-changed.consumer.ts';
import { BlockedUserFeed } from './adapters/persistence/blocked-user-feed.ts';
import { PostgresAccounts } from './adapters/persistence/postgres-accounts.ts';
import { PostgresKeyRing } from './adapters/persistence/postgres-key-ring.ts';
import { PostgresLegacyAccounts } from './adapters/persistence/postgres-legacy-accounts.ts';
import { identityService } from './application/identity-service.ts';
import { takeOverLegacyCustomer } from './application/take-over-legacy-customer.handler.ts';
import { type IdentityConfig, identityConfig } from './config.ts';

/** The identity service as the chassis builds it; `main.ts` runs it, component tests create it. */
export const identityDefinition: ServiceDefinition<IdentityConfig, { database: true; messaging: true }> = {
  name: 'identity',
  config: identityConfig,
  migrations: fileURLToPath(new URL('../migrations', import.meta.url)),
  docs: {
    title: 'Mercato identity',
    description: 'JWKS over HTTP; gRPC: mercato.identity.v1.IdentityService',
  },
  // legacy.customer.changed: the monolith's customers, whose credentials identity takes over.
  messaging: { contracts: [...identityEvents, legacyCustomerChanged] },
  async setup({ config, db, outbox, logger, stopping }) {
    const now = () => new Date();
    const policy = (freeFailures: number) => ({
      freeFailures,
      firstDelayMs: config.IDENTITY_LOGIN_FIRST_DELAY_MS,
      maxDelayMs: config.IDENTITY_LOGIN_MAX_DELAY_SECONDS * 1000,
      forgetAfterMs: config.IDENTITY_LOGIN_WINDOW_SECONDS * 1000,
    });
    const accounts = new PostgresAccounts(db, outbox);
    const identity = identityService({
      accounts,
      keys: new PostgresKeyRing(
        db,
        {
          rotationMs: config.IDENTITY_KEY_ROTATION_SECONDS * 1000,
          overlapMs: config.IDENTITY_ACCESS_TOKEN_TTL_SECONDS * 1000,
        },
        now,
      ),
      hasher: new MigratingPasswordHasher(
        new ScryptPasswordHasher(config.IDENTITY_SCRYPT_COST),
        new LegacySha256PasswordVerifier(),
      ),
      tokens: {
        issuer: config.IDENTITY_ISSUER,
        audience: config.IDENTITY_AUDIENCE,
        accessTtlSeconds: config.IDENTITY_ACCESS_TOKEN_TTL_SECONDS,
        refreshTtlSeconds: config.IDENTITY_REFRESH_TOKEN_TTL_SECONDS,
      },
      throttle: {
        client: policy(config.IDENTITY_LOGIN_FREE_FAILURES_PER_CLIENT),
        account: policy(config.IDENTITY_LOGIN_FREE_FAILURES_PER_EMAIL),
        address: policy(config.IDENTITY_LOGIN_FREE_FAILURES_PER_IP),
      },
      newId,
      now,
      correlationId: () => currentRequestContext()?.correlationId ?? newId('corr'),
    });
    if (config.IDENTITY_SEED_DEMO) {
      // The demo shopper, and the demo operator who opens the ops console.
      for (const [account, roles] of [
        [demoUser, ['customer']],
        [demoAdmin, ['customer', 'admin']],
      ] as const) {
        // Looked up first: registering hashes the password (scrypt, ~0.1 s of CPU each) before it
        // finds the email taken, and this runs on every start.
        if (await accounts.userByEmail(account.email)) continue;
        try {
          await identity.register(account, roles);
          logger.info({ email: account.email }, 'registered a demo account');
        } catch (error) {
          if (!(isAppError(error) && error.code === 'IDENTITY.EMAIL_TAKEN')) throw error;
        }
      }
    }
    const blocks = new BlockedUserFeed({
      databaseUrl: config.DATABASE_URL,
      logger,
      blockedUser: (userId) => accounts.blockedUser(userId),
      recentlyBlocked: () => identity.recentlyBlocked(),
    });
    return {
      routes: async (app) => {
        await app.register(jwksRoutes(identity));
        await app.register(userAdminRoutes(identity));
      },
      grpc: identityGrpc(identity, blocks, stopping),
      consumers: [
        legacyCustomerChangedConsumer(takeOverLegacyCustomer(new PostgresLegacyAccounts(), now), logger),
      ],
      onClose: () => blocks.close(),
    };
  },
};
