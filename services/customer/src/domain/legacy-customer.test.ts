import { describe, expect, it } from 'vitest';
import { type Customer, defaultPreferences } from './customer.ts';
import {
  type LegacyOwnership,
  legacyChangeDecision,
  ownerOfProfile,
  takenOverFromLegacy,
} from './legacy-customer.ts';

const at = (iso: string) => new Date(iso);
const row = {
  id: 'usr_legacy_7',
  email: 'customer7@legacy.example',
  name: 'Customer 7',
  address: '7 Old Street, Leeds',
  createdAt: at('2023-01-01T10:30:00Z'),
  updatedAt: at('2023-01-01T10:30:00Z'),
};

describe('taking a customer over from the monolith', () => {
  it('creates a standard profile with default preferences and announces it', () => {
    const taken = takenOverFromLegacy(undefined, row);
    expect(taken?.customer).toMatchObject({
      id: 'usr_legacy_7',
      segment: 'standard',
      preferences: defaultPreferences,
    });
    expect(taken?.events).toHaveLength(1);
  });

  it('updates what the monolith holds, keeps what only the service knows', () => {
    const existing: Customer = {
      ...(takenOverFromLegacy(undefined, row)?.customer as Customer),
      segment: 'member',
      preferences: { marketingEmails: true, language: 'fr-FR', currency: 'EUR' },
    };
    const taken = takenOverFromLegacy(existing, {
      ...row,
      name: 'Renamed',
      updatedAt: at('2024-01-01T00:00:00Z'),
    });
    expect(taken?.customer).toMatchObject({
      name: 'Renamed',
      segment: 'member',
      preferences: existing.preferences,
    });
    expect(taken?.events).toHaveLength(1);
  });

  it('stores a newer row that changed nothing other services read without announcing it', () => {
    const existing = takenOverFromLegacy(undefined, row)?.customer as Customer;
    expect(existing.address).toBe('7 Old Street, Leeds');
    const taken = takenOverFromLegacy(existing, {
      ...row,
      address: '9 New Road, York',
      updatedAt: at('2025-01-01T00:00:00Z'),
    });
    expect(taken?.customer.updatedAt).toEqual(at('2025-01-01T00:00:00Z'));
    expect(taken?.customer.address).toBe('9 New Road, York');
    expect(taken?.events).toEqual([]);
  });
});

describe('whose writes a profile takes', () => {
  it('is the legacy owner’s for a profile taken over from the monolith, the services’ for their own', () => {
    expect(ownerOfProfile('usr_legacy_7', 'monolith')).toEqual({ owner: 'monolith', legacyKey: '7' });
    expect(ownerOfProfile('usr_legacy_7', 'moving')).toEqual({ owner: 'moving', legacyKey: '7' });
    expect(ownerOfProfile('usr_legacy_7', 'services')).toEqual({ owner: 'services' });
    expect(ownerOfProfile('usr_ada', 'monolith')).toEqual({ owner: 'services' });
    // Only the exact mapped shape is the monolith's: a look-alike id is an ordinary customer's.
    expect(ownerOfProfile('usr_legacy_7x', 'monolith')).toEqual({ owner: 'services' });
    expect(ownerOfProfile('usr_legacy_', 'monolith')).toEqual({ owner: 'services' });
  });

  it('takes the monolith’s changes until the services own customers, then only its new customers', () => {
    const existing = takenOverFromLegacy(undefined, row).customer;
    const decide = (owner: LegacyOwnership['owner'], movedAt: string | undefined, lsn: string, held = true) =>
      legacyChangeDecision({ owner, movedAt }, lsn, held ? existing : undefined);
    expect(decide('monolith', undefined, '0/100')).toBe('apply');
    // Moving: what the monolith wrote before it gave customers up is still on its way.
    expect(decide('moving', '0/200', '0/100')).toBe('apply');
    // Owned: a change of a profile is the echo of the services' own write, taken back by the monolith.
    expect(decide('services', '0/200', '0/300')).toBe('ignore');
    expect(decide('services', '0/200', '0/300', false)).toBe('apply');
    // Handed back: it tells only once the monolith's taking back is seen; then what it wrote before
    // that is an echo, what it wrote after is its own.
    expect(decide('returning', '0/200', '0/300')).toBe('wait');
    expect(decide('monolith', '1/0', 'F/FFFFFFFF')).toBe('apply');
    expect(decide('monolith', '1/0', '0/FFFFFFFF')).toBe('ignore');
    expect(decide('monolith', '1/0', '1/0')).toBe('ignore');
  });
});
