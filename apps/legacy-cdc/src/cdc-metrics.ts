import { Counter, Gauge, type Registry } from 'prom-client';

/** What the change stream shows: changes by table and kind, lag behind the monolith, log held back. */
export interface CdcMetrics {
  changes: Counter<'table' | 'op'>;
  /** Seconds from a transaction's commit in the monolith to its changes in the outbox. */
  lagSeconds: Gauge;
  retainedWalBytes: Gauge;
  restarts: Counter;
  snapshotRows: Gauge;
}

export function createCdcMetrics(registry: Registry): CdcMetrics {
  const registers = [registry];
  return {
    changes: new Counter({
      name: 'legacy_cdc_changes_total',
      help: 'Row changes of the monolith written to the outbox, by table and operation',
      labelNames: ['table', 'op'],
      registers,
    }),
    lagSeconds: new Gauge({
      name: 'legacy_cdc_lag_seconds',
      help: "Time from the last captured transaction's commit in the monolith to its changes in the outbox",
      registers,
    }),
    retainedWalBytes: new Gauge({
      name: 'legacy_cdc_retained_wal_bytes',
      help: 'Bytes of write-ahead log the replication slot keeps the server from recycling',
      registers,
    }),
    restarts: new Counter({
      name: 'legacy_cdc_stream_restarts_total',
      help: 'Times the change stream was started again after it ended with an error',
      registers,
    }),
    snapshotRows: new Gauge({
      name: 'legacy_cdc_snapshot_rows',
      help: 'Rows read by the initial snapshot',
      registers,
    }),
  };
}
