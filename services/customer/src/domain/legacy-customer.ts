import { legacyKeyOf } from '@mercato/contracts';
import { type Customer, type CustomerUpdated, defaultPreferences } from './customer.ts';

/**
 * Whose writes a profile's monolith-held fields (email, name, address) take: a profile taken over
 * from the monolith (`usr_legacy_<id>`) is still the monolith's until customers move (the strangler's
 * phase 3), so its name changes there and reaches the service by change data capture. Accepting it
 * here too would make two writers: the next captured change of the row overwrites the service's
 * edit without a word, and until then the two disagree. Preferences and segment are the service's
 * alone and stay writable.
 */
export function ownerOfProfile(
  customerId: string,
): { owner: 'monolith'; legacyKey: string } | { owner: 'services' } {
  const legacyKey = legacyKeyOf(customerId);
  return legacyKey === undefined ? { owner: 'services' } : { owner: 'monolith', legacyKey };
}

/** A customer row of the monolith, as change data capture carries it. */
export interface LegacyCustomerRow {
  /** The id it has in the services (`legacyUserId`). */
  id: string;
  email: string;
  name: string;
  address: string;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * The profile once the monolith's row is taken over: created as a standard customer with default
 * preferences, or updated in what the monolith holds (email, name, address, its timestamps),
 * keeping what only the service knows (segment, preferences). Announced when the email or name
 * changed: no other service reads an address. Whether the row is newer than what the profile holds is the
 * caller's to tell (by its commit position): this is only given rows to apply.
 */
export function takenOverFromLegacy(
  existing: Customer | undefined,
  row: LegacyCustomerRow,
): { customer: Customer; events: CustomerUpdated[] } {
  if (!existing) {
    const customer: Customer = {
      id: row.id,
      email: row.email,
      name: row.name,
      segment: 'standard',
      preferences: defaultPreferences,
      address: row.address,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
    };
    return { customer, events: [{ type: 'customer.updated', customer }] };
  }
  const customer = {
    ...existing,
    email: row.email,
    name: row.name,
    address: row.address,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
  const changed = existing.email !== row.email || existing.name !== row.name;
  return { customer, events: changed ? [{ type: 'customer.updated', customer }] : [] };
}
