import { databaseConfigShape, env, messagingConfigShape, serviceConfigShape } from '@mercato/chassis';
import * as z from 'zod';

const identifier = z
  .string()
  .regex(/^[a-z_][a-z0-9_]{0,62}$/, { error: 'expected a lowercase SQL identifier (letters, digits, _)' });

export const legacyCdcConfig = z.object({
  ...serviceConfigShape,
  ...databaseConfigShape,
  ...messagingConfigShape,
  /**
   * The monolith's database, read by logical replication: its login needs the REPLICATION attribute
   * and must own the captured tables (it creates the publication), and its server `wal_level=logical`.
   */
  LEGACY_DATABASE_URL: env.url(['postgres', 'postgresql']),
  /** The replication slot: it keeps the log from the last change this process confirmed. */
  LEGACY_CDC_SLOT: identifier.default('mercato_legacy_cdc'),
  LEGACY_CDC_PUBLICATION: identifier.default('mercato_legacy_cdc'),
  /**
   * How often a heartbeat row is written to the monolith's database. A quiet monolith on a busy
   * server otherwise gives the slot nothing to confirm, and it holds every byte of log written
   * since (Debezium's `heartbeat.action.query`); it also keeps the lag metric true while idle.
   */
  LEGACY_CDC_HEARTBEAT_MS: env.int({ min: 100, max: 3_600_000, default: 10_000 }),
  /** Rows read per round trip by the initial snapshot. */
  LEGACY_CDC_SNAPSHOT_FETCH: env.int({ min: 1, max: 100_000, default: 2_000 }),
});

export type LegacyCdcConfig = z.output<typeof legacyCdcConfig>;
