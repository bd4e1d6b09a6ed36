import type { ConsumerDefinition } from '@mercato/chassis';
import { customerUpdated } from '@mercato/contracts';
import type { SegmentCache } from '../../application/segment-cache.ts';

/** Forgets a changed customer's cached segment, so its next quote uses the new one. */
export const customerUpdatedConsumer = (segments: SegmentCache): ConsumerDefinition => ({
  group: 'pricing',
  kind: 'topic',
  destinations: [customerUpdated.type],
  handler: async (message) => {
    segments.forget(customerUpdated.schema.parse(message.data).customer_id);
  },
});
