import type { DescService } from '@bufbuild/protobuf';
import { type Client, ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import {
  type ChassisConfig,
  createService,
  type Service,
  type ServiceDefinition,
  type ServiceUses,
} from '../create-service.ts';
import { createPool, type Pool } from '../db/database.ts';
import { migrate } from '../db/migrate.ts';
import { createLogger } from '../logging/create-logger.ts';
import { messageStoreMigrations } from '../messaging/migrations-path.ts';
import { PostgresMessageBus } from '../messaging/postgres-bus/postgres-message-bus.ts';
import { createTestDatabase } from './infra.ts';

export interface TestService<Config> {
  service: Service<Config>;
  url: string;
  grpcUrl: string;
  databaseUrl: string;
  messagesUrl: string;
  /** A plain client (no policy, no retries) for one of the service's gRPC services. */
  client: <S extends DescService>(service: S) => Client<S>;
  /** Stops the service and drops its databases. */
  stop: () => Promise<void>;
}

/**
 * Starts a service as its component tests need it: its own throwaway database, a throwaway
 * PostgreSQL message store (unless `MESSAGES_DATABASE_URL` names a shared one), ephemeral HTTP and
 * gRPC ports, silent logs.
 */
export async function startTestService<Config extends ChassisConfig, Uses extends ServiceUses>(
  definition: ServiceDefinition<Config, Uses>,
  environment: Record<string, string> = {},
): Promise<TestService<Config>> {
  const database = await createTestDatabase(definition.name.replaceAll('-', '_'));
  const shared = environment.MESSAGES_DATABASE_URL;
  const messages = shared
    ? { url: shared, drop: async () => undefined }
    : await createTestMessageStore(`${definition.name.replaceAll('-', '_')}_messages`);
  const service = await createService(definition, {
    DATABASE_URL: database.url,
    MESSAGES_DATABASE_URL: messages.url,
    PORT: '0',
    GRPC_PORT: '0',
    LOG_LEVEL: 'silent',
    ...environment,
  });
  const url = await service.start();
  const grpcUrl = service.grpcUrl() ?? '';
  return {
    service,
    url,
    grpcUrl,
    client: (grpcService) => createClient(grpcService, createGrpcTransport({ baseUrl: grpcUrl })),
    databaseUrl: database.url,
    messagesUrl: messages.url,
    stop: async () => {
      await service.stop();
      await database.drop();
      await messages.drop();
    },
  };
}

/** A test's own way into a service's message store: a bus to publish on, a pool to look inside. */
export interface TestBus {
  bus: PostgresMessageBus;
  messages: Pool;
  /** Closes the bus, then its pool. */
  close: () => Promise<void>;
}

/** Connects a test to the message store at `messagesUrl` (a test service's `messagesUrl`). */
export function connectTestBus(messagesUrl: string): TestBus {
  const logger = createLogger({ service: 'test', level: 'silent' });
  const messages = createPool({ url: messagesUrl, max: 2, applicationName: 'test' }, logger);
  const bus = new PostgresMessageBus({ pool: messages, listenUrl: messagesUrl, logger });
  return {
    bus,
    messages,
    close: async () => {
      await bus.close();
      await messages.end();
    },
  };
}

/** A throwaway, migrated PostgreSQL message store on the test server (or the one `adminUrl` names). */
export async function createTestMessageStore(
  prefix = 'messages',
  adminUrl?: string,
): Promise<{ url: string; drop: () => Promise<void> }> {
  const messages = await createTestDatabase(prefix, adminUrl);
  const logger = createLogger({ service: 'test', level: 'silent' });
  const pool = createPool({ url: messages.url, max: 1, applicationName: 'test' }, logger);
  await migrate(pool, messageStoreMigrations, logger, 'bus_migrations');
  await pool.end();
  return messages;
}

/** The gRPC error a call failed with, or undefined when it succeeded: for asserting on statuses. */
export const grpcFailure = (call: Promise<unknown>): Promise<ConnectError | undefined> =>
  call.then(
    () => undefined,
    (error: unknown) => ConnectError.from(error),
  );
