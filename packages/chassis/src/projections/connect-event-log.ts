import { ConfigError } from '../config/load-config.ts';
import { createPool } from '../db/database.ts';
import type { Logger } from '../logging/create-logger.ts';
import type { MessagingConfig } from '../messaging/service-messaging.ts';
import type { EventLog } from './event-log.port.ts';
import { PostgresEventLog } from './postgres-event-log.ts';

/** The event log of the bus the config names (MERCATO_BUS): what a read model reads. */
export async function connectEventLog(config: MessagingConfig, logger: Logger): Promise<EventLog> {
  if (config.MERCATO_BUS === 'nats') {
    if (!config.NATS_URL) throw new ConfigError(['NATS_URL: required when MERCATO_BUS=nats (it is not set)']);
    const { NatsEventLog } = await import('./nats-event-log.ts');
    return NatsEventLog.connect(config.NATS_URL);
  }
  if (!config.MESSAGES_DATABASE_URL) {
    throw new ConfigError(['MESSAGES_DATABASE_URL: required when MERCATO_BUS=postgres (it is not set)']);
  }
  const pool = createPool(
    { url: config.MESSAGES_DATABASE_URL, max: 4, applicationName: 'event-log' },
    logger,
  );
  return new PostgresEventLog(pool, {
    ownsPool: true,
    listen: { url: config.MESSAGES_DATABASE_URL, logger },
  });
}
