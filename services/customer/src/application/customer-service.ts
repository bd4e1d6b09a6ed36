import { legacyKeyOf } from '@mercato/contracts';
import type { Customer, CustomerUpdated, Preferences } from '../domain/customer.ts';
import { edited, withPreferences } from '../domain/customer.ts';
import { type LegacyOwner, ownerOfProfile } from '../domain/legacy-customer.ts';
import { customerErrors } from './customer-errors.ts';
import { customerUpdatedMessage } from './customer-messages.ts';
import type { CustomerStore } from './customer-store.port.ts';

export interface CustomerDependencies {
  store: CustomerStore;
  now: () => Date;
  correlationId: () => string;
  /**
   * Whether every change the monolith made to customers before it gave them up has been applied
   * here (nothing of them left unhandled on the bus).
   */
  legacyCaughtUp: () => Promise<boolean>;
}

export interface ProfileChanges {
  name?: string | undefined;
  address?: string | undefined;
}

/** The customer's use cases: read a profile, edit it, set its preferences (each announced once). */
export function customerService({ store, now, correlationId, legacyCaughtUp }: CustomerDependencies) {
  /**
   * Who writes the profiles taken over from the monolith. `moving` ends at the first write that
   * finds the monolith's last changes applied: nothing polls for it.
   */
  const legacyOwner = async (): Promise<LegacyOwner> => {
    const owner = await store.legacyOwner();
    if (owner !== 'moving' || !(await legacyCaughtUp())) return owner;
    return store.completeLegacyMove();
  };
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
    editProfile: async (id: string, changes: ProfileChanges): Promise<Customer> => {
      // Refused before the profile is read: a profile the monolith keeps takes no second writer.
      const owner = ownerOfProfile(id, legacyKeyOf(id) === undefined ? 'services' : await legacyOwner());
      if (owner.owner === 'monolith') throw customerErrors.keptByMonolith(id, owner.legacyKey);
      if (owner.owner === 'moving') throw customerErrors.moveInProgress(id);
      return change(id, (customer, at) => edited(customer, changes, at));
    },
    setPreferences: (id: string, preferences: Preferences) =>
      change(id, (customer, at) => withPreferences(customer, preferences, at)),
  };
}

export type CustomerService = ReturnType<typeof customerService>;
