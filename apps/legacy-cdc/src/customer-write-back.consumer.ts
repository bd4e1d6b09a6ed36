import type { ConsumerDefinition, Pool } from '@mercato/chassis';
import { customerUpdated, legacyKeyOf } from '@mercato/contracts';

/**
 * Data flowing back (the strangler's phase 3): once customers moved, the services write the
 * monolith's customers, and the monolith still serves screens that show them (its orders). Each
 * `customer.updated` of a profile taken over from it (`usr_legacy_<id>`) is written into its row:
 * name, address, and the services' update time, only while the services own customers and only
 * over an older row, so a redelivery or a late event changes nothing. The capture brings the row
 * back as a change, which customer (the owner now) takes for the echo it is.
 *
 * Not in the inbox's transaction (that is this process's database, not the monolith's): the guard on
 * `updated_at` makes the write idempotent instead.
 */
export type CustomerWriteBackGroup = 'legacy-customer-write-back';

export const customerWriteBackConsumer = (monolith: Pool): ConsumerDefinition => ({
  group: 'legacy-customer-write-back' satisfies CustomerWriteBackGroup,
  kind: 'topic',
  destinations: [customerUpdated.type],
  handler: async (message) => {
    const event = customerUpdated.schema.parse(message.data);
    const key = legacyKeyOf(event.customer_id);
    if (key === undefined || event.address === undefined || event.updated_at === undefined) return;
    await monolith.query(
      `UPDATE customers SET name = $2, address = $3, updated_at = $4
       WHERE id = $1 AND updated_at < $4
         AND EXISTS (SELECT 1 FROM capabilities WHERE name = 'customers' AND owner = 'services')`,
      [key, event.name, event.address, event.updated_at],
    );
  },
});
