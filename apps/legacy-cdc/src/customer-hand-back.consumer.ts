import type { ConsumerDefinition, Pool } from '@mercato/chassis';
import { customersHandedBack } from '@mercato/contracts';
import type { CustomerWriteBackGroup } from './customer-write-back.consumer.ts';

/**
 * The services handing the monolith's customers back (the strangler's phase 3 undone). Every
 * `customer.updated` they made before is ahead of the hand-back on the bus; once the write-back group
 * has none of them left unhandled, the monolith's row is given back to it: its customer writes
 * are taken again, and customer, seeing that in the log, follows its changes from there. Until then
 * the hand-back is delivered again (every 100 ms to 2 s, for about ten minutes).
 */
export const customerHandBackConsumer = (
  monolith: Pool,
  writeBackLag: (group: CustomerWriteBackGroup) => Promise<number>,
): ConsumerDefinition => ({
  group: 'legacy-customer-hand-back',
  kind: 'topic',
  destinations: [customersHandedBack.type],
  maxAttempts: 300,
  backoff: { baseMs: 100, maxMs: 2_000 },
  handler: async (message) => {
    customersHandedBack.schema.parse(message.data);
    const pending = await writeBackLag('legacy-customer-write-back');
    if (pending > 0)
      throw new Error(
        `${pending} changes of the services still to write back before the monolith takes customers`,
      );
    await monolith.query(
      // A retired monolith takes nothing back (the services refuse to hand back once it retires).
      `UPDATE capabilities SET owner = 'monolith', changed_at = now()
       WHERE name = 'customers' AND owner = 'services' AND NOT EXISTS (SELECT 1 FROM retirement)`,
    );
  },
});
