import {
  databaseConfigShape,
  env,
  grpcServerConfigShape,
  messagingConfigShape,
  rpcClientConfigShape,
  serviceConfigShape,
} from '@mercato/chassis';
import * as z from 'zod';

export const notificationConfig = z.object({
  ...serviceConfigShape,
  ...databaseConfigShape,
  ...messagingConfigShape,
  ...grpcServerConfigShape(),
  ...rpcClientConfigShape({ timeoutMs: 2_000 }),
  /** Any SMTP server (smtp://host:port, smtps://user:pass@host:465); the SMTP sink in embedded mode. */
  SMTP_URL: env.url(['smtp', 'smtps']),
  NOTIFICATION_FROM: env.string('Mercato <orders@mercato.local>'),
  /** A send the SMTP server has not accepted after this long is retried later. */
  NOTIFICATION_SMTP_TIMEOUT_MS: env.int({ min: 100, max: 120_000, default: 5_000 }),
  /**
   * How long a claim on an event's mail holds while its lookups and its send run (with no
   * transaction open); a redelivery waits for it, and takes over after it if the sender died.
   */
  NOTIFICATION_CALL_LEASE_MS: env.int({ min: 1_000, max: 600_000, default: 60_000 }),
  /**
   * How long a customer's contact (email, name) is reused without asking customer again (0: ask for
   * every mail); `customer.updated` forgets it at once on the instance that consumes the event.
   */
  NOTIFICATION_CONTACT_CACHE_MS: env.int({ min: 0, max: 3_600_000, default: 30_000 }),
});

export type NotificationConfig = z.output<typeof notificationConfig>;
