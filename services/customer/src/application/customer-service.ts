import type { Customer, CustomerUpdated, Preferences } from '../domain/customer.ts';
import { renamed, withPreferences } from '../domain/customer.ts';
import { ownerOfProfile } from '../domain/legacy-customer.ts';
import { customerErrors } from './customer-errors.ts';
import { customerUpdatedMessage } from './customer-messages.ts';
import type { CustomerStore } from './customer-store.port.ts';

export interface CustomerDependencies {
  store: CustomerStore;
  now: () => Date;
  correlationId: () => string;
}

/** The customer's use cases: read a profile, rename it, set its preferences (each announced once). */
export function customerService({ store, now, correlationId }: CustomerDependencies) {
  const change = async (
    id: string,
    apply: (customer: Customer, at: Date) => { customer: Customer; events: CustomerUpdated[] },
  ): Promise<Customer> => {
    const updated = await store.update(id, (customer) => {
      const { customer: next, events } = apply(customer, now());
      const correlation = correlationId();
      return { customer: next, messages: events.map((event) => customerUpdatedMessage(event, correlation)) };
    });
    if (!updated) throw customerErrors.notFound(id);
    return updated;
  };
  return {
    async get(id: string): Promise<Customer> {
      const customer = await store.get(id);
      if (!customer) throw customerErrors.notFound(id);
      return customer;
    },
    rename: async (id: string, name: string): Promise<Customer> => {
      const owner = ownerOfProfile(id);
      // Refused before the store is read: a profile the monolith keeps takes no second writer.
      if (owner.owner === 'monolith') throw customerErrors.keptByMonolith(id, owner.legacyKey);
      return change(id, (customer, at) => renamed(customer, name, at));
    },
    setPreferences: (id: string, preferences: Preferences) =>
      change(id, (customer, at) => withPreferences(customer, preferences, at)),
  };
}

export type CustomerService = ReturnType<typeof customerService>;
