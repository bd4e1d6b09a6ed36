import type { ConsumerDefinition } from '@mercato/chassis';
import { userRegistered } from '@mercato/contracts';
import type { CustomerStore } from '../../application/customer-store.port.ts';
import { newCustomer, type Segment } from '../../domain/customer.ts';

/** A profile for every registered user, created in the same transaction as the inbox record. */
export const userRegisteredConsumer = (
  customers: CustomerStore,
  segmentFor: (email: string) => Segment,
): ConsumerDefinition => ({
  group: 'customer',
  kind: 'topic',
  destinations: [userRegistered.type],
  handler: async (message, transaction) => {
    const user = userRegistered.schema.parse(message.data);
    const customer = newCustomer(
      { id: user.user_id, email: user.email, name: user.name },
      segmentFor(user.email),
      new Date(message.timestamp),
    );
    await customers.createIfAbsent(transaction, customer);
  },
});
