import { createEnvelope, customersHandedBack, legacyKeyOf } from '@mercato/contracts';
import type { Customer, CustomerUpdated, Preferences } from '../domain/customer.ts';
import { edited, withPreferences } from '../domain/customer.ts';
import { type LegacyOwner, ownerOfProfile } from '../domain/legacy-customer.ts';
import { customerErrors } from './customer-errors.ts';
import { customerUpdatedMessage } from './customer-messages.ts';
import type { CustomerStore, LegacyRetirementMark } from './customer-store.port.ts';

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
    const { owner } = await store.legacyOwnership();
    if (owner !== 'moving' || !(await legacyCaughtUp())) return owner;
    return store.completeLegacyMove();
  };
  /** Refuses a write of a profile the services do not write now, naming why. */
  const assertServicesWrite = (id: string, legacy: LegacyOwner) => {
    const owner = ownerOfProfile(id, legacy);
    if (owner.owner === 'monolith') throw customerErrors.keptByMonolith(id, owner.legacyKey);
    if (owner.owner !== 'services') throw customerErrors.moveInProgress(id);
  };
  const change = async (
    id: string,
    apply: (customer: Customer, at: Date) => { customer: Customer; events: CustomerUpdated[] },
    legacyGuard?: (owner: LegacyOwner) => void,
  ): Promise<Customer> => {
    const updated = await store.update(
      id,
      (customer) => {
        const { customer: next, events } = apply(customer, now());
        const correlation = correlationId();
        return {
          customer: next,
          messages: events.map((event) => customerUpdatedMessage(event, correlation)),
        };
      },
      legacyGuard,
    );
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
      const edit = (customer: Customer, at: Date) => edited(customer, changes, at);
      if (legacyKeyOf(id) === undefined) return change(id, edit);
      // Refused before the profile is read: a profile the monolith keeps takes no second writer. The
      // owner is checked again in the write's transaction, which a hand-back waits for.
      assertServicesWrite(id, await legacyOwner());
      return change(id, edit, (owner) => assertServicesWrite(id, owner));
    },
    /**
     * Gives the monolith's customers back (phase 3 undone): from here no profile of theirs takes a
     * write, and the hand-back is announced after every change written before it, so the monolith
     * takes them back once those are written into it. The owner after; only `services` changes.
     */
    handBackLegacyCustomers: async (): Promise<LegacyOwner> => {
      const owner = await store.handBackLegacy({
        kind: 'topic',
        destination: customersHandedBack.type,
        key: 'customers',
        envelope: createEnvelope({
          contract: customersHandedBack,
          source: 'customer',
          correlationId: correlationId(),
          now: now(),
          data: { capability: 'customers', handed_back_at: now().toISOString() },
        }),
      });
      // Still the services' after a hand-back only while the monolith retires.
      if (owner === 'services') throw customerErrors.monolithRetired();
      return owner;
    },
    /**
     * Marks the monolith retiring (hand-backs refused from then) once the services write its
     * customers, for good once it did retire, or unmarks it when the monolith refused to. A move
     * still finishing is finished first when the monolith's last changes are applied.
     */
    markLegacyRetired: async (retired: boolean, forGood: boolean): Promise<LegacyRetirementMark> => {
      const owner = await legacyOwner();
      if (owner !== 'services') throw customerErrors.customersNotMoved(owner);
      const marked = await store.markLegacyRetired(retired, forGood);
      if (marked.owner !== 'services') throw customerErrors.customersNotMoved(marked.owner);
      if (!marked.changed) throw customerErrors.monolithRetired();
      return marked;
    },
    setPreferences: (id: string, preferences: Preferences) => {
      if (legacyKeyOf(id) === undefined)
        return change(id, (customer, at) => withPreferences(customer, preferences, at));
      // Preferences are the service's alone, but a profile the monolith writes keeps its update time
      // (the owner as of the write's transaction decides).
      let followed = true;
      return change(
        id,
        (customer, at) => withPreferences(customer, preferences, at, { followed }),
        (owner) => {
          followed = ownerOfProfile(id, owner).owner !== 'services';
        },
      );
    },
  };
}

export type CustomerService = ReturnType<typeof customerService>;
