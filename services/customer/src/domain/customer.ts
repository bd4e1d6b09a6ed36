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
  /**
   * Written by the services (an edit, preferences), not taken over from the monolith: announced with
   * the address and update time, which the monolith's copy of a moved customer follows.
   */
  written?: true;
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

/** The profile with a new name or address (absent: unchanged); announced when either changed. */
export function edited(
  customer: Customer,
  changes: { name?: string | undefined; address?: string | undefined },
  now: Date,
): { customer: Customer; events: CustomerUpdated[] } {
  const name = changes.name ?? customer.name;
  const address = changes.address ?? customer.address;
  if (customer.name === name && customer.address === address) return { customer, events: [] };
  const next = { ...customer, name, address, updatedAt: now };
  return { customer: next, events: [{ type: 'customer.updated', customer: next, written: true }] };
}

/**
 * The profile with new preferences; announced when they changed. A profile whose email, name and
 * address another writer keeps (`followed`: the monolith's, taken over) keeps that writer's update
 * time: it says when those fields last changed there, and the services' copy is compared with it.
 */
export function withPreferences(
  customer: Customer,
  preferences: Preferences,
  now: Date,
  options: { followed?: boolean } = {},
): { customer: Customer; events: CustomerUpdated[] } {
  const same =
    customer.preferences.marketingEmails === preferences.marketingEmails &&
    customer.preferences.language === preferences.language &&
    customer.preferences.currency === preferences.currency;
  if (same) return { customer, events: [] };
  if (options.followed) {
    const next = { ...customer, preferences };
    return { customer: next, events: [{ type: 'customer.updated', customer: next }] };
  }
  const next = { ...customer, preferences, updatedAt: now };
  return { customer: next, events: [{ type: 'customer.updated', customer: next, written: true }] };
}
