import { describe, expect, it } from 'vitest';
import { edited, newCustomer, withPreferences } from './customer.ts';

const t0 = new Date('2026-11-24T10:00:00Z');
const t1 = new Date('2026-11-24T11:00:00Z');
const customer = newCustomer({ id: 'usr_1', email: 'a@example.test', name: 'Ada' }, 'standard', t0);

describe('customer', () => {
  it('starts with default preferences', () => {
    expect(customer.preferences).toEqual({ marketingEmails: false, language: 'en-GB', currency: 'EUR' });
  });

  it('announces a rename or a new address as written by the services, and a no-op edit nothing', () => {
    const { customer: next, events } = edited(customer, { name: 'Ada L.' }, t1);
    expect(next).toMatchObject({ name: 'Ada L.', address: '', updatedAt: t1 });
    expect(events).toEqual([{ type: 'customer.updated', customer: next, written: true }]);
    const moved = edited(customer, { address: '1 Analytical Row' }, t1);
    expect(moved.customer).toMatchObject({ name: 'Ada', address: '1 Analytical Row' });
    expect(moved.events).toHaveLength(1);
    expect(edited(customer, { name: 'Ada', address: '' }, t1).events).toEqual([]);
    expect(edited(customer, {}, t1).events).toEqual([]);
  });

  it('announces changed preferences only', () => {
    expect(withPreferences(customer, customer.preferences, t1).events).toEqual([]);
    const changed = withPreferences(customer, { ...customer.preferences, marketingEmails: true }, t1);
    expect(changed.events[0]?.customer.preferences.marketingEmails).toBe(true);
    expect(changed.customer.updatedAt).toEqual(t1);
  });

  it('keeps the update time of a profile another writer keeps, and does not announce it as written', () => {
    const followed = withPreferences(customer, { ...customer.preferences, language: 'de' }, t1, {
      followed: true,
    });
    expect(followed.customer).toMatchObject({
      preferences: { language: 'de' },
      updatedAt: customer.updatedAt,
    });
    expect(followed.events).toEqual([{ type: 'customer.updated', customer: followed.customer }]);
  });
});
