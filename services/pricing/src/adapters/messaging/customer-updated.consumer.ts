import type { ConsumerDefinition, LookupCache } from '@mercato/chassis';
import { customerUpdated } from '@mercato/contracts';

/** Forgets a changed customer's cached segment, so its next quote uses the new one. */
export const customerUpdatedConsumer = (
  segments: Pick<LookupCache<string>, 'forget'>,
): ConsumerDefinition => ({
  group: 'pricing',
  kind: 'topic',
  destinations: [customerUpdated.type],
  handler: async (message) => {
    segments.forget(customerUpdated.schema.parse(message.data).customer_id);
  },
});
