import { createHash } from 'node:crypto';
import type { Transaction } from '@mercato/chassis';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InMemoryLegacyAccounts } from '../adapters/persistence/in-memory-legacy-accounts.ts';
import { isMonolithPasswordHash, legacyCustomerChange } from '../domain/legacy-account.ts';
import { takeOverLegacyCustomer } from './take-over-legacy-customer.handler.ts';

const transaction = {} as Transaction;
const now = () => new Date('2026-01-01T00:00:00Z');
const hashOf = (seed: string) => `sha256$s$${createHash('sha256').update(seed).digest('hex')}`;
const lsnOf = (position: number) => `0/${(0x16b3f28 + position).toString(16).toUpperCase()}`;

interface Change {
  customer: number;
  position: number;
  email: string;
  name: string;
}
/** Something that reaches identity: a captured change, or the customer's login (re-hashing). */
type Delivery = { change: Change } | { login: number };

/**
 * A monolith history: a snapshot of `customers` rows, then transactions that each give them a fresh
 * unique assignment of emails (so emails swap between customers, as the monolith's unique index
 * allows within a transaction) and change some names.
 */
const histories = (customers: number) =>
  fc
    .array(
      fc.record({
        emails: fc.shuffledSubarray(['a', 'b', 'c', 'd', 'e'], {
          minLength: customers,
          maxLength: customers,
        }),
        changed: fc.array(fc.boolean(), { minLength: customers, maxLength: customers }),
        name: fc.constantFrom('Ann', 'Bo', 'Cy'),
      }),
      { maxLength: 6 },
    )
    .map((transactions) => {
      const changes: Change[] = [];
      const emails = ['a', 'b', 'c', 'd', 'e']
        .slice(0, customers)
        .map((letter) => `${letter}@legacy.example`);
      for (let customer = 0; customer < customers; customer += 1)
        changes.push({ customer, position: 0, email: emails[customer] ?? '', name: `Customer ${customer}` });
      transactions.forEach((tx, index) => {
        for (let customer = 0; customer < customers; customer += 1) {
          const email = `${tx.emails[customer]}@legacy.example`;
          // A row is captured when its email moved, or its name was changed.
          if (email === emails[customer] && !tx.changed[customer]) continue;
          emails[customer] = email;
          changes.push({ customer, position: index + 1, email, name: tx.name });
        }
      });
      return changes;
    });

/** The history delivered in any order, some changes twice, with logins between them. */
const deliveries = (customers: number) =>
  histories(customers).chain((changes) =>
    fc
      .tuple(
        fc.shuffledSubarray(changes, { minLength: changes.length, maxLength: changes.length }),
        fc.array(fc.constantFrom(...changes), { maxLength: 4 }),
        fc.array(fc.integer({ min: 0, max: customers - 1 }), { maxLength: 3 }),
      )
      .chain(([shuffled, again, logins]) =>
        fc
          .shuffledSubarray<Delivery>(
            [...shuffled.map((change) => ({ change })), ...logins.map((login) => ({ login }))],
            { minLength: shuffled.length + logins.length, maxLength: shuffled.length + logins.length },
          )
          .map((order) => ({ changes, order: [...order, ...again.map((change) => ({ change }))] })),
      ),
  );

async function deliver(accounts: InMemoryLegacyAccounts, order: readonly Delivery[]) {
  const takeOver = takeOverLegacyCustomer(accounts, now);
  const rehashed = new Set<string>();
  for (const delivery of order) {
    if ('login' in delivery) {
      const user = accounts.users.get(`usr_legacy_${delivery.login}`);
      if (user && isMonolithPasswordHash(user.passwordHash)) {
        user.passwordHash = `scrypt$for-${delivery.login}`;
        rehashed.add(`usr_legacy_${delivery.login}`);
      }
      continue;
    }
    const { customer, position, email, name } = delivery.change;
    const row = { email, name, password_hash: hashOf(`${customer}@${position}`) };
    await takeOver(transaction, legacyCustomerChange(`usr_legacy_${customer}`, lsnOf(position), row));
  }
  return rehashed;
}

describe('taking over legacy customers', () => {
  it('ends where the monolith did, whatever the order, duplicates and email swaps', async () => {
    await fc.assert(
      fc.asyncProperty(deliveries(3), async ({ changes, order }) => {
        const accounts = new InMemoryLegacyAccounts();
        const rehashed = await deliver(accounts, order);
        for (let customer = 0; customer < 3; customer += 1) {
          const last = changes.filter((change) => change.customer === customer).at(-1);
          const userId = `usr_legacy_${customer}`;
          expect(accounts.users.get(userId)).toEqual({
            email: last?.email,
            name: last?.name,
            // Once identity re-hashed a password, no change of the monolith's replaces it.
            passwordHash: rehashed.has(userId)
              ? `scrypt$for-${customer}`
              : hashOf(`${customer}@${last?.position}`),
            blockedAt: null,
          });
        }
        expect(accounts.conflicts.filter((c) => c.conflict === 'email_taken')).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it("records and skips a customer whose email identity's own account holds, until it changes", async () => {
    const accounts = new InMemoryLegacyAccounts();
    accounts.register('usr_01', 'ada@legacy.example', 'scrypt$own');
    const takeOver = takeOverLegacyCustomer(accounts, now);
    const change = (position: number, email: string) =>
      legacyCustomerChange('usr_legacy_1', lsnOf(position), {
        email,
        name: 'Ada',
        password_hash: hashOf('1'),
      });

    expect(await takeOver(transaction, change(1, 'ada@legacy.example'))).toEqual({
      outcome: 'email_taken',
      otherUserId: 'usr_01',
    });
    expect(accounts.users.get('usr_legacy_1')).toBeUndefined();
    expect(accounts.users.get('usr_01')?.passwordHash).toBe('scrypt$own');
    expect(accounts.conflicts).toEqual([
      {
        userId: 'usr_legacy_1',
        lsn: lsnOf(1),
        conflict: 'email_taken',
        email: 'ada@legacy.example',
        otherUserId: 'usr_01',
      },
    ]);
    expect(await takeOver(transaction, change(2, 'ada.l@legacy.example'))).toMatchObject({
      outcome: 'created',
    });
  });

  it('blocks a deleted account and is not undone by an older change arriving late', async () => {
    const accounts = new InMemoryLegacyAccounts();
    const takeOver = takeOverLegacyCustomer(accounts, now);
    const row = { email: 'bo@legacy.example', name: 'Bo', password_hash: hashOf('2') };
    await takeOver(transaction, legacyCustomerChange('usr_legacy_2', lsnOf(1), row));
    expect(await takeOver(transaction, legacyCustomerChange('usr_legacy_2', lsnOf(3), null))).toEqual({
      outcome: 'deleted',
    });
    expect(await takeOver(transaction, legacyCustomerChange('usr_legacy_2', lsnOf(2), row))).toEqual({
      outcome: 'stale',
    });
    expect(accounts.users.get('usr_legacy_2')?.blockedAt).toEqual(now());
    // Deleted before identity saw it: a tombstone, so its late insert creates nothing.
    await takeOver(transaction, legacyCustomerChange('usr_legacy_3', lsnOf(5), null));
    expect(await takeOver(transaction, legacyCustomerChange('usr_legacy_3', lsnOf(4), row))).toEqual({
      outcome: 'stale',
    });
    expect(accounts.users.has('usr_legacy_3')).toBe(false);
  });
});
