import * as z from 'zod';
import { defineEvent } from '../message-contract.ts';

/**
 * Change data capture from the legacy monolith's database (apps/legacy-cdc): one event per row
 * change, read from its write-ahead log in commit order, or per row of the initial snapshot. `row`
 * is the row after the change (null when deleted), `key` its primary key; `source` says where in
 * the log it was (`lsn` of the commit, the transaction, its commit time) so a consumer can order and
 * dedupe changes of one row. Event ids are derived from the position, so a change republished after
 * a crash carries the id it had.
 */
const source = z.object({
  /** `snapshot` for rows read by the initial snapshot, `stream` for changes read from the log. */
  kind: z.enum(['snapshot', 'stream']),
  /** Commit LSN of the change's transaction (for a snapshot row: the slot's consistent point). */
  lsn: z.string().regex(/^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/),
  tx_id: z.number().int().nonnegative(),
  committed_at: z.iso.datetime({ offset: true }),
});

const change = <Row extends z.ZodType>(row: Row) =>
  z.object({
    op: z.enum(['snapshot', 'insert', 'update', 'delete']),
    key: z.record(z.string(), z.string()),
    row: row.nullable(),
    source,
  });

/** Integer keys travel as decimal strings (bigint), timestamps as ISO 8601. */
const id = z.string().regex(/^\d{1,19}$/);
const timestamp = z.iso.datetime({ offset: true });

export const legacyCustomerChanged = defineEvent({
  type: 'legacy.customer.changed',
  version: '1.0',
  schema: change(
    z.object({
      id,
      email: z.string(),
      name: z.string(),
      /** The monolith's salted SHA-256 (`sha256$<salt>$<hex>`): identity verifies and re-hashes it. */
      password_hash: z.string(),
      address: z.string(),
      created_at: timestamp,
      updated_at: timestamp,
    }),
  ),
});

export const legacyProductChanged = defineEvent({
  type: 'legacy.product.changed',
  version: '1.0',
  schema: change(
    z.object({ id, sku: z.string(), name: z.string(), price_cents: z.number().int(), updated_at: timestamp }),
  ),
});

export const legacyStockChanged = defineEvent({
  type: 'legacy.stock.changed',
  version: '1.0',
  schema: change(z.object({ product_id: id, quantity: z.number().int(), updated_at: timestamp })),
});

export const legacyOrderChanged = defineEvent({
  type: 'legacy.order.changed',
  version: '1.0',
  schema: change(
    z.object({
      id,
      customer_id: id,
      status: z.string(),
      total_cents: z.number().int(),
      placed_at: timestamp,
      updated_at: timestamp,
    }),
  ),
});

/** Keyed by its order, so an order's lines and the order itself reach a consumer in commit order. */
export const legacyOrderLineChanged = defineEvent({
  type: 'legacy.order_line.changed',
  version: '1.0',
  schema: change(
    z.object({
      order_id: id,
      line_no: z.number().int(),
      product_id: id,
      quantity: z.number().int(),
      unit_price_cents: z.number().int(),
    }),
  ),
});

/**
 * Who writes one capability of the monolith (the strangler's phase 3): `monolith` until it moves,
 * then `services`. The monolith refuses the capability's writes from the commit that moves it, so a
 * consumer that sees this change has been given every write the monolith made before it.
 */
export const legacyCapabilityChanged = defineEvent({
  type: 'legacy.capability.changed',
  version: '1.0',
  schema: change(
    z.object({ name: z.string(), owner: z.enum(['monolith', 'services']), changed_at: timestamp }),
  ),
});

export const legacyEvents = [
  legacyCustomerChanged,
  legacyProductChanged,
  legacyStockChanged,
  legacyOrderChanged,
  legacyOrderLineChanged,
  legacyCapabilityChanged,
] as const;
