import { describe, expect, it } from 'vitest';
import {
  compareLsn,
  type HeldLegacyAccount,
  isMonolithPasswordHash,
  legacyCustomerChange,
  planLegacyChange,
} from './legacy-account.ts';

const monolithHash = (salt: string) => `sha256$${salt}$${'ab'.repeat(32)}`;
const row = (email: string, name = 'Ada', passwordHash = monolithHash('s1')) => ({
  email,
  name,
  password_hash: passwordHash,
});
const held = (lsn: string, passwordHash: string | undefined, deleted = false): HeldLegacyAccount => ({
  lsn,
  passwordHash,
  deleted,
});
const upsert = (lsn: string, email = 'ada@legacy.example', passwordHash = monolithHash('s1')) =>
  legacyCustomerChange('usr_legacy_1', lsn, row(email, 'Ada', passwordHash));

describe('legacy accounts', () => {
  it('orders log positions as numbers, not as text', () => {
    expect(compareLsn('0/16B3F28', '0/16B3F29')).toBeLessThan(0);
    expect(compareLsn('0/9', '0/10')).toBeLessThan(0);
    expect(compareLsn('1/0', '0/FFFFFFFF')).toBeGreaterThan(0);
    expect(compareLsn('A/1', 'a/1')).toBe(0);
    expect(() => compareLsn('16B3F28', '0/1')).toThrow(/not an LSN/);
  });

  it('reads a row as identity keeps it, and sets aside one it cannot hold', () => {
    expect(
      legacyCustomerChange('usr_legacy_1', '0/1', row(' Ada@Legacy.Example ', `  ${'é'.repeat(150)} `)),
    ).toEqual({
      userId: 'usr_legacy_1',
      lsn: '0/1',
      op: 'upsert',
      row: { email: 'ada@legacy.example', name: 'é'.repeat(100), passwordHash: monolithHash('s1') },
    });
    expect(legacyCustomerChange('usr_legacy_1', '0/2', null)).toMatchObject({ op: 'delete' });
    for (const unusable of [row('not an email'), row('a@b.example', '   '), row('a@b.example', 'A', 'md5$x')])
      expect(legacyCustomerChange('usr_legacy_1', '0/3', unusable)).toMatchObject({ op: 'unusable' });
    expect(isMonolithPasswordHash(monolithHash(''))).toBe(true);
    expect(isMonolithPasswordHash('scrypt$1024$8$1$salt$key')).toBe(false);
    expect(isMonolithPasswordHash(`sha256$a$b$${'0'.repeat(64)}`)).toBe(false);
  });

  it('creates the account with the monolith hash as it is', () => {
    expect(planLegacyChange(undefined, upsert('0/10'), undefined)).toEqual({
      kind: 'save',
      row: { email: 'ada@legacy.example', name: 'Ada', passwordHash: monolithHash('s1') },
      create: true,
      blocked: false,
    });
  });

  it('drops a change older than the last one applied, and applies the same position again', () => {
    expect(planLegacyChange(held('0/20', monolithHash('s1')), upsert('0/1F'), undefined)).toEqual({
      kind: 'stale',
    });
    expect(planLegacyChange(held('0/20', monolithHash('s1')), upsert('0/20'), undefined)).toMatchObject({
      kind: 'save',
      create: false,
    });
  });

  it("replaces a monolith hash by a later one, never identity's own", () => {
    const later = upsert('0/30', 'ada@legacy.example', monolithHash('s2'));
    expect(planLegacyChange(held('0/20', monolithHash('s1')), later, undefined)).toMatchObject({
      row: { passwordHash: monolithHash('s2') },
    });
    const rehashed = 'scrypt$1024$8$1$c2FsdA$a2V5';
    expect(planLegacyChange(held('0/20', rehashed), later, undefined)).toMatchObject({
      kind: 'save',
      row: { email: 'ada@legacy.example', passwordHash: rehashed },
    });
  });

  it("leaves an email identity's own account holds where it is, and records the change", () => {
    expect(planLegacyChange(undefined, upsert('0/10'), { userId: 'usr_01', lsn: undefined })).toEqual({
      kind: 'conflict',
      conflict: 'email_taken',
      otherUserId: 'usr_01',
    });
  });

  it('takes an email from a legacy account whose own change giving it up has not arrived yet', () => {
    const earlier = { userId: 'usr_legacy_2', lsn: '0/10' };
    expect(planLegacyChange(undefined, upsert('0/10'), earlier)).toMatchObject({
      kind: 'save',
      moveEmailOf: 'usr_legacy_2',
    });
    // The holder has it as of a later change: this customer's own later change is on its way.
    expect(planLegacyChange(undefined, upsert('0/F'), earlier)).toEqual({
      kind: 'conflict',
      conflict: 'email_held_by_later_change',
      otherUserId: 'usr_legacy_2',
    });
  });

  it('deletes, and keeps an account the monolith deleted blocked', () => {
    expect(
      planLegacyChange(
        held('0/10', monolithHash('s1')),
        legacyCustomerChange('usr_legacy_1', '0/11', null),
        undefined,
      ),
    ).toEqual({ kind: 'delete' });
    expect(
      planLegacyChange(undefined, legacyCustomerChange('usr_legacy_1', '0/11', null), undefined),
    ).toEqual({ kind: 'delete' });
    expect(planLegacyChange(held('0/11', undefined, true), upsert('0/10'), undefined)).toEqual({
      kind: 'stale',
    });
    expect(planLegacyChange(held('0/11', undefined, true), upsert('0/12'), undefined)).toMatchObject({
      kind: 'save',
      create: true,
      blocked: true,
    });
  });
});
