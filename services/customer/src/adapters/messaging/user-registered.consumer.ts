import type { ConsumerDefinition } from '@mercato/chassis';
import { userRegistered } from '@mercato/contracts';
import { newCustomer, type Segment } from '../../domain/customer.ts';
import type { PostgresCustomers } from '../persistence/postgres-customers.ts';

/** A profile for every registered user, created in the same transaction as the inbox record. */
export const userRegisteredConsumer = (
  customers: PostgresCustomers,
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
    await customers.create(transaction, customer);
  },
});
