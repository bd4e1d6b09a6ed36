import { databaseConfigShape, env, serviceConfigShape } from '@mercato/chassis';
import * as z from 'zod';

export const sinkConfig = z.object({
  ...serviceConfigShape,
  ...databaseConfigShape,
  /** Where the SMTP server listens (the HTTP listing is on PORT). */
  SMTP_PORT: env.port(2525),
  SMTP_HOST: env.string('127.0.0.1'),
  /** Larger mails are refused (552) before they are read. */
  SMTP_SINK_MAX_BYTES: env.int({ min: 1_024, max: 50_000_000, default: 5_000_000 }),
});

export type SinkConfig = z.output<typeof sinkConfig>;
