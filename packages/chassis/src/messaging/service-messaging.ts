import { type MessageContract, MessageRegistry } from '@mercato/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Registry } from 'prom-client';
import * as z from 'zod';
import { env } from '../config/env-schema.ts';
import { ConfigError } from '../config/load-config.ts';
import { createPool, type Pool } from '../db/database.ts';
import { migrate } from '../db/migrate.ts';
import type { Logger } from '../logging/create-logger.ts';
import { deadLetterRoutes } from './dead-letter.routes.ts';
import { DeadLetterStore } from './dead-letter-store.ts';
import type { MessageBus } from './message-bus.port.ts';
import { type ConsumerDefinition, MessageConsumer } from './message-consumer.ts';
import { MESSAGING_MIGRATIONS_TABLE, messagingMigrations } from './migrations-path.ts';
import { Outbox } from './outbox.ts';
import { OutboxRelay } from './outbox-relay.ts';
import { PostgresMessageBus } from './postgres-bus/postgres-message-bus.ts';
import { INBOX_RETENTION, RetentionSweeper } from './retention-sweeper.ts';

const DEFAULT_INBOX_RETENTION_HOURS = 24 * 7;
const DEFAULT_BUS_RETENTION_HOURS = 24;

/** The variables a service with messaging reads, on top of its own. */
export const messagingConfigShape = {
  MERCATO_BUS: z.enum(['postgres', 'nats'], { error: 'expected postgres or nats' }).default('postgres'),
  MESSAGES_DATABASE_URL: env.optionalUrl(['postgres', 'postgresql']),
  NATS_URL: env.optionalUrl(['nats', 'tls']),
  /**
   * This process's name among its service's instances: the same across its restarts, never shared
   * by two live processes (the supervisor's `<service>-<run>`, a pod's name). A consumer restarted
   * under it takes back at once what its predecessor held: on NATS its partitions (instead of
   * waiting out the lease TTL), on the PostgreSQL store its claims (instead of their timeout).
   */
  MERCATO_INSTANCE_ID: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'expected 1–64 letters, digits, - or _' })
    .optional(),
  /**
   * How long a handled message's inbox row is kept: it must outlast every redelivery of that
   * message (visibility timeouts, retries, a relay republishing after a crash: minutes), so days.
   */
  MESSAGING_INBOX_RETENTION_HOURS: env.int({ min: 1, max: 24 * 365, default: DEFAULT_INBOX_RETENTION_HOURS }),
  /** How long the PostgreSQL message store keeps messages every group has acknowledged. */
  BUS_RETENTION_HOURS: env.int({ min: 1, max: 24 * 365, default: DEFAULT_BUS_RETENTION_HOURS }),
  /**
   * How many NATS servers hold each stream (and the consumers' lease bucket) the service creates: 1
   * for the single server of a laptop or CI, the cluster's size (3) on Kubernetes, so a server's loss
   * loses no message. JetStream allows at most 5; a stream that exists already keeps its own.
   */
  NATS_STREAM_REPLICAS: env.int({ min: 1, max: 5, default: 1 }),
};

export interface MessagingConfig {
  MERCATO_BUS: 'postgres' | 'nats';
  MESSAGES_DATABASE_URL?: string | undefined;
  NATS_URL?: string | undefined;
  MERCATO_INSTANCE_ID?: string | undefined;
  MESSAGING_INBOX_RETENTION_HOURS?: number;
  BUS_RETENTION_HOURS?: number;
  NATS_STREAM_REPLICAS?: number;
}

const HOUR_MS = 3_600_000;

export interface ServiceMessaging {
  outbox: Outbox;
  routes: FastifyPluginAsyncZod;
  /** Sets up the given consumers; when `active`, starts them and the relay (else see `activate`). */
  start: (consumers: readonly ConsumerDefinition[], active?: boolean) => Promise<void>;
  /** Starts (again) the relay, the inbox sweeper and the consumers: a standby instance takes over. */
  activate: () => Promise<void>;
  /** Stops them, in-flight deliveries handled first; the outbox still takes appends. */
  standby: () => Promise<void>;
  stop: () => Promise<void>;
  /**
   * Messages one of this service's consumer groups has not acknowledged yet (published, not yet
   * handled). Throws for a group it does not run.
   */
  lag: (group: string) => Promise<number>;
}

async function connectBus(
  config: MessagingConfig,
  logger: Logger,
): Promise<{ bus: MessageBus; pool?: Pool }> {
  if (config.MERCATO_BUS === 'nats') {
    if (!config.NATS_URL) throw new ConfigError(['NATS_URL: required when MERCATO_BUS=nats (it is not set)']);
    // Loaded only here, so services on the PostgreSQL store never load the NATS client.
    const { NatsMessageBus } = await import('./nats-bus/nats-message-bus.ts');
    return {
      bus: await NatsMessageBus.connect({
        url: config.NATS_URL,
        logger,
        replicas: config.NATS_STREAM_REPLICAS ?? 1,
        ...(config.MERCATO_INSTANCE_ID ? { memberId: config.MERCATO_INSTANCE_ID } : {}),
      }),
    };
  }
  if (!config.MESSAGES_DATABASE_URL) {
    throw new ConfigError(['MESSAGES_DATABASE_URL: required when MERCATO_BUS=postgres (it is not set)']);
  }
  const pool = createPool({ url: config.MESSAGES_DATABASE_URL, max: 10, applicationName: 'bus' }, logger);
  const retentionMs = (config.BUS_RETENTION_HOURS ?? DEFAULT_BUS_RETENTION_HOURS) * HOUR_MS;
  return {
    bus: new PostgresMessageBus({
      pool,
      listenUrl: config.MESSAGES_DATABASE_URL,
      logger,
      retentionMs,
      ...(config.MERCATO_INSTANCE_ID ? { memberId: config.MERCATO_INSTANCE_ID } : {}),
    }),
    pool,
  };
}

/**
 * A service's messaging, built from its config: its outbox tables and relay, the bus it chose
 * (MERCATO_BUS), its consumers with inbox and dead letters, and the dead-letter endpoints.
 */
export async function createServiceMessaging(options: {
  config: MessagingConfig;
  db: Pool;
  databaseUrl: string;
  logger: Logger;
  registry: Registry;
  contracts: readonly MessageContract[];
}): Promise<ServiceMessaging> {
  const { db, logger, registry } = options;
  await migrate(db, messagingMigrations, logger, MESSAGING_MIGRATIONS_TABLE);
  const { bus, pool } = await connectBus(options.config, logger);
  const messages = new MessageRegistry(options.contracts);
  const deadLetters = new DeadLetterStore(db);
  const relay = new OutboxRelay({ pool: db, databaseUrl: options.databaseUrl, bus, logger, registry });
  const inboxRetention = new RetentionSweeper({
    pool: db,
    logger,
    what: 'inbox rows',
    deleteBatch: INBOX_RETENTION,
    retentionMs: (options.config.MESSAGING_INBOX_RETENTION_HOURS ?? DEFAULT_INBOX_RETENTION_HOURS) * HOUR_MS,
  });
  // Filled by start(); the dead-letter routes look consumers up in it when asked to replay.
  const consumers: MessageConsumer[] = [];
  /** Relay, sweeper and consumers running (active), or not (standby, stopped). */
  let working = false;
  const activate = async () => {
    if (working) return;
    working = true;
    relay.start();
    inboxRetention.start();
    for (const consumer of consumers) await consumer.start();
  };
  const standby = async () => {
    if (!working) return;
    working = false;
    await inboxRetention.stop();
    for (const consumer of consumers) await consumer.stop();
    await relay.stop();
  };
  return {
    outbox: new Outbox(messages),
    routes: deadLetterRoutes(deadLetters, consumers),
    async start(definitions, active = true) {
      for (const definition of definitions) {
        consumers.push(
          new MessageConsumer(definition, { pool: db, bus, messages, deadLetters, logger, registry }),
        );
      }
      if (active) await activate();
    },
    activate,
    standby,
    async stop() {
      await standby();
      await bus.close();
      await pool?.end();
    },
    async lag(group) {
      const consumer = consumers.find((candidate) => candidate.definition.group === group);
      if (!consumer) throw new Error(`this service runs no consumer group ${group}`);
      const { kind, destinations } = consumer.definition;
      return bus.lag(group, kind, destinations);
    },
  };
}
