import {
  legacyCapabilityChanged,
  legacyCustomerChanged,
  legacyOrderChanged,
  legacyOrderLineChanged,
  legacyProductChanged,
  legacyStockChanged,
  type MessageContract,
} from '@mercato/contracts';

/** One table of the monolith whose changes are captured, and the event each change becomes. */
export interface CapturedTable {
  name: string;
  contract: MessageContract;
  /** Primary key columns, in order (the snapshot reads by them). */
  key: readonly string[];
  /** The partition key of its events: the aggregate the row belongs to, so its changes stay in order. */
  partitionBy: string;
  /** bigint columns: published as decimal strings, whatever the pg driver parsed them into. */
  ids: readonly string[];
}

export const capturedTables: readonly CapturedTable[] = [
  { name: 'customers', contract: legacyCustomerChanged, key: ['id'], partitionBy: 'id', ids: ['id'] },
  { name: 'products', contract: legacyProductChanged, key: ['id'], partitionBy: 'id', ids: ['id'] },
  {
    name: 'stock',
    contract: legacyStockChanged,
    key: ['product_id'],
    partitionBy: 'product_id',
    ids: ['product_id'],
  },
  {
    name: 'orders',
    contract: legacyOrderChanged,
    key: ['id'],
    partitionBy: 'id',
    ids: ['id', 'customer_id'],
  },
  {
    name: 'order_lines',
    contract: legacyOrderLineChanged,
    key: ['order_id', 'line_no'],
    partitionBy: 'order_id',
    ids: ['order_id', 'product_id'],
  },
  // Who writes what (the strangler's phase 3): its change follows every write it was given after.
  { name: 'capabilities', contract: legacyCapabilityChanged, key: ['name'], partitionBy: 'name', ids: [] },
];

/**
 * Written by this process to the monolith's database, so that a quiet monolith on a busy server still
 * has a change to confirm (the slot then lets go of the log before it) and lag stays measurable.
 */
export const HEARTBEAT_TABLE = 'mercato_cdc_heartbeat';

export const capturedTableNamed = (name: string): CapturedTable | undefined =>
  capturedTables.find((table) => table.name === name);
