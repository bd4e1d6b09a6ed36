import type { ConsumerDefinition, LookupCache } from '@mercato/chassis';
import { customerUpdated } from '@mercato/contracts';

/**
 * Forgets a changed customer's cached contact (customer announces a new email or name with
 * `customer.updated`), so the next mail goes to the address it has now.
 */
export const customerUpdatedConsumer = (
  contacts: Pick<LookupCache<unknown>, 'forget'>,
): ConsumerDefinition => ({
  group: 'notification',
  kind: 'topic',
  destinations: [customerUpdated.type],
  handler: async (message) => {
    contacts.forget(customerUpdated.schema.parse(message.data).customer_id);
  },
});
