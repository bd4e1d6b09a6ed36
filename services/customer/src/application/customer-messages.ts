import type { OutboxEntry } from '@mercato/chassis';
import { createEnvelope, customerUpdated } from '@mercato/contracts';
import type { CustomerUpdated } from '../domain/customer.ts';

export const customerUpdatedMessage = (event: CustomerUpdated, correlationId: string): OutboxEntry => ({
  kind: 'topic',
  destination: customerUpdated.type,
  key: event.customer.id,
  envelope: createEnvelope({
    contract: customerUpdated,
    source: 'customer',
    correlationId,
    now: event.customer.updatedAt,
    data: {
      customer_id: event.customer.id,
      name: event.customer.name,
      segment: event.customer.segment,
      preferences: {
        marketing_emails: event.customer.preferences.marketingEmails,
        language: event.customer.preferences.language,
        currency: event.customer.preferences.currency,
      },
      ...(event.written
        ? { address: event.customer.address, updated_at: event.customer.updatedAt.toISOString() }
        : {}),
    },
  }),
});
