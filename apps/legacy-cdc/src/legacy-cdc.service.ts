import { fileURLToPath } from 'node:url';
import { createPool, type ServiceDefinition } from '@mercato/chassis';
import { customersHandedBack, customerUpdated, legacyEvents, legacyShelfReturned } from '@mercato/contracts';
import { createCdcMetrics } from './cdc-metrics.ts';
import { CdcPositions } from './cdc-position.ts';
import { ChangeStream } from './change-stream.ts';
import { type LegacyCdcConfig, legacyCdcConfig } from './config.ts';
import { customerHandBackConsumer } from './customer-hand-back.consumer.ts';
import { customerWriteBackConsumer } from './customer-write-back.consumer.ts';
import { shelfReturnConsumer } from './shelf-return.consumer.ts';

/**
 * Change data capture from the legacy monolith's database, as Debezium's PostgreSQL connector does it:
 * a publication and a `pgoutput` slot, an initial snapshot then the log, every change an event in the
 * standard envelope through this process's outbox; heartbeats; lag and retained log as metrics.
 * The stream is a duty: only the active instance runs it (one slot has one reader). Once customers
 * moved to the services, it also writes their changes back into the monolith (its order screens
 * still show customers).
 */
export const legacyCdcDefinition: ServiceDefinition<LegacyCdcConfig, { database: true; messaging: true }> = {
  name: 'legacy-cdc',
  config: legacyCdcConfig,
  migrations: fileURLToPath(new URL('../migrations', import.meta.url)),
  docs: { title: 'Legacy CDC', description: "The monolith's changes, from its log to the bus" },
  messaging: { contracts: [...legacyEvents, customerUpdated, customersHandedBack, legacyShelfReturned] },
  setup({ config, db, outbox, metrics, logger, consumerLag }) {
    const stream = new ChangeStream(
      {
        source: { connectionString: config.LEGACY_DATABASE_URL, application_name: 'mercato-legacy-cdc' },
        slot: config.LEGACY_CDC_SLOT,
        publication: config.LEGACY_CDC_PUBLICATION,
        heartbeatMs: config.LEGACY_CDC_HEARTBEAT_MS,
        snapshotFetch: config.LEGACY_CDC_SNAPSHOT_FETCH,
      },
      {
        pool: db,
        outbox,
        positions: new CdcPositions(db),
        metrics: createCdcMetrics(metrics.registry),
        logger,
        onFatal: (error) => {
          logger.fatal(error.message);
          process.exitCode = 1;
          process.kill(process.pid, 'SIGTERM');
        },
      },
    );
    // The write-back's own pool to the monolith's database (the stream holds a replication connection).
    const monolith = createPool(
      { url: config.LEGACY_DATABASE_URL, max: 2, applicationName: 'mercato-legacy-write-back' },
      logger,
    );
    return {
      duties: [{ name: 'change stream', start: () => stream.start(), stop: () => stream.stop() }],
      consumers: [
        customerWriteBackConsumer(monolith),
        customerHandBackConsumer(monolith, consumerLag),
        shelfReturnConsumer(monolith),
      ],
      onClose: () => monolith.end(),
    };
  },
};
