export type Segment = 'standard' | 'member';

export interface Preferences {
  marketingEmails: boolean;
  /** BCP 47, e.g. en-GB. */
  language: string;
  /** ISO 4217, e.g. EUR. */
  currency: string;
}

export interface Customer {
  id: string;
  email: string;
  name: string;
  segment: Segment;
  preferences: Preferences;
  /** A postal address as one text; '' when none is known (the services never ask for one yet). */
  address: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface CustomerUpdated {
  type: 'customer.updated';
  customer: Customer;
}

export const defaultPreferences: Preferences = { marketingEmails: false, language: 'en-GB', currency: 'EUR' };

/** A profile for a newly registered user; members are the segment pricing rewards. */
export function newCustomer(
  user: { id: string; email: string; name: string },
  segment: Segment,
  now: Date,
): Customer {
  return { ...user, segment, preferences: defaultPreferences, address: '', createdAt: now, updatedAt: now };
}

export function renamed(
  customer: Customer,
  name: string,
  now: Date,
): { customer: Customer; events: CustomerUpdated[] } {
  if (customer.name === name) return { customer, events: [] };
  const next = { ...customer, name, updatedAt: now };
  return { customer: next, events: [{ type: 'customer.updated', customer: next }] };
}

export function withPreferences(
  customer: Customer,
  preferences: Preferences,
  now: Date,
): { customer: Customer; events: CustomerUpdated[] } {
  const same =
    customer.preferences.marketingEmails === preferences.marketingEmails &&
    customer.preferences.language === preferences.language &&
    customer.preferences.currency === preferences.currency;
  if (same) return { customer, events: [] };
  const next = { ...customer, preferences, updatedAt: now };
  return { customer: next, events: [{ type: 'customer.updated', customer: next }] };
}
