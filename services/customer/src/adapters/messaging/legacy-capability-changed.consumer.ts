import type { ConsumerDefinition } from '@mercato/chassis';
import { legacyCapabilityChanged } from '@mercato/contracts';
import type { CustomerStore } from '../../application/customer-store.port.ts';

/**
 * The monolith giving customers up (the strangler's phase 3), seen in its log after every write it
 * made before: recorded as `moving`, which the first profile write that finds those writes all
 * applied (this service's `customer-legacy` group has nothing left) turns into `services`. Other
 * capabilities are other services' to take.
 */
export const legacyCapabilityChangedConsumer = (customers: CustomerStore): ConsumerDefinition => ({
  group: 'customer-legacy-owner',
  kind: 'topic',
  destinations: [legacyCapabilityChanged.type],
  handler: async (message, transaction) => {
    const change = legacyCapabilityChanged.schema.parse(message.data);
    if (change.row?.name !== 'customers') return;
    await customers.recordLegacyMove(transaction, change.row.owner, change.source.lsn);
  },
});
