import { describe, expect, it } from 'vitest';
import { refreshVerdict } from './refresh-token.ts';

const now = new Date('2026-01-01T12:00:00Z');
const record = {
  userId: 'usr_1',
  familyId: 'fam_1',
  expiresAt: new Date('2026-01-02T00:00:00Z'),
  usedAt: null,
  revokedAt: null,
};

describe('refreshVerdict', () => {
  it('accepts a live, unspent token', () => {
    expect(refreshVerdict(record, now)).toBe('valid');
  });

  it('refuses an unknown, revoked or expired token', () => {
    expect(refreshVerdict(undefined, now)).toBe('invalid');
    expect(refreshVerdict({ ...record, revokedAt: now }, now)).toBe('invalid');
    expect(refreshVerdict({ ...record, expiresAt: now }, now)).toBe('invalid');
  });

  it('calls a spent token reused, even before it expires', () => {
    expect(refreshVerdict({ ...record, usedAt: new Date('2026-01-01T11:00:00Z') }, now)).toBe('reused');
  });
});
