import { type Customer, type CustomerUpdated, defaultPreferences } from './customer.ts';

/** A customer row of the monolith, as change data capture carries it. */
export interface LegacyCustomerRow {
  /** The id it has in the services (`legacyUserId`). */
  id: string;
  email: string;
  name: string;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * The profile once the monolith's row is taken over: created as a standard customer with default
 * preferences, or updated in what the monolith holds (email, name), keeping what only the service
 * knows (segment, preferences). A row no newer than the profile (a replay, a change that arrived
 * out of order) changes nothing.
 */
export function takenOverFromLegacy(
  existing: Customer | undefined,
  row: LegacyCustomerRow,
): { customer: Customer; events: CustomerUpdated[] } | undefined {
  if (!existing) {
    const customer: Customer = {
      id: row.id,
      email: row.email,
      name: row.name,
      segment: 'standard',
      preferences: defaultPreferences,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
    };
    return { customer, events: [{ type: 'customer.updated', customer }] };
  }
  if (row.updatedAt.getTime() <= existing.updatedAt.getTime()) return undefined;
  const customer = { ...existing, email: row.email, name: row.name, updatedAt: row.updatedAt };
  const changed = existing.email !== row.email || existing.name !== row.name;
  return { customer, events: changed ? [{ type: 'customer.updated', customer }] : [] };
}
