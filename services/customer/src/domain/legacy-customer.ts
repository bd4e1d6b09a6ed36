import { compareLogPositions, legacyKeyOf } from '@mercato/contracts';
import { type Customer, type CustomerUpdated, defaultPreferences } from './customer.ts';

/**
 * Who writes the monolith-held fields (email, name, address) of the profiles taken over from it
 * (`usr_legacy_<id>`), as this service knows it: the monolith until customers move (the strangler's
 * phase 3; the service follows its changes), `moving` once the monolith gave them up until every
 * change it made before has been applied here, then the services; `returning` once the services
 * handed them back, until the monolith's taking them back is seen.
 */
export type LegacyOwner = 'monolith' | 'moving' | 'services' | 'returning';

/** The owner and the commit position (LSN) of the monolith's last move seen, if any. */
export interface LegacyOwnership {
  owner: LegacyOwner;
  movedAt: string | undefined;
}

/**
 * Whose writes a profile's monolith-held fields take: a service's own profile is always the
 * services'; one taken over from the monolith is the `legacy` owner's. Accepting a write here while
 * the monolith still owns it would make two writers: the next captured change of the row overwrites
 * the service's edit without a word, and until then the two disagree. Preferences and segment are
 * the service's alone and stay writable.
 */
export function ownerOfProfile(
  customerId: string,
  legacy: LegacyOwner,
): { owner: 'monolith' | 'moving' | 'returning'; legacyKey: string } | { owner: 'services' } {
  const legacyKey = legacyKeyOf(customerId);
  if (legacyKey === undefined || legacy === 'services') return { owner: 'services' };
  return { owner: legacy, legacyKey };
}

/**
 * What to do with a captured change of a taken-over profile, committed at `changeLsn`:
 * - the monolith writes customers: apply it, unless it was committed before the monolith took them
 *   back from the services (then it is the echo of a services' write it took back);
 * - moving: apply it (the monolith wrote it before it gave customers up);
 * - the services write customers: the monolith writes a profile only by taking their changes back,
 *   so it is an echo, left alone; a customer it registered since has no profile yet and is taken;
 * - returning: wait (deliver it again later): an echo or a write of the monolith's after it took
 *   customers back, which tells only once the taking back is seen.
 */
export function legacyChangeDecision(
  ownership: LegacyOwnership,
  changeLsn: string,
  existing: Customer | undefined,
): 'apply' | 'ignore' | 'wait' {
  switch (ownership.owner) {
    case 'monolith':
      return ownership.movedAt === undefined || compareLogPositions(changeLsn, ownership.movedAt) > 0
        ? 'apply'
        : 'ignore';
    case 'moving':
      return 'apply';
    case 'services':
      return existing === undefined ? 'apply' : 'ignore';
    case 'returning':
      return 'wait';
  }
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
