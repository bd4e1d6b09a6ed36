import { describe, expect, it } from 'vitest';
import { newCustomer, renamed, withPreferences } from './customer.ts';

const t0 = new Date('2026-11-24T10:00:00Z');
const t1 = new Date('2026-11-24T11:00:00Z');
const customer = newCustomer({ id: 'usr_1', email: 'a@example.test', name: 'Ada' }, 'standard', t0);

describe('customer', () => {
  it('starts with default preferences', () => {
    expect(customer.preferences).toEqual({ marketingEmails: false, language: 'en-GB', currency: 'EUR' });
  });

  it('announces a rename, and a no-op rename announces nothing', () => {
    const { customer: next, events } = renamed(customer, 'Ada L.', t1);
    expect(next).toMatchObject({ name: 'Ada L.', updatedAt: t1 });
    expect(events).toHaveLength(1);
    expect(renamed(customer, 'Ada', t1).events).toEqual([]);
  });

  it('announces changed preferences only', () => {
    expect(withPreferences(customer, customer.preferences, t1).events).toEqual([]);
    const changed = withPreferences(customer, { ...customer.preferences, marketingEmails: true }, t1);
    expect(changed.events[0]?.customer.preferences.marketingEmails).toBe(true);
  });
});
