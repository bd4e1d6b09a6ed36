import { describe, expect, it } from 'vitest';
import { lsnBefore, lsnValue, normalLsn } from './lsn.ts';

describe('LSNs', () => {
  it('compare as one integer of their two halves', () => {
    expect(lsnValue('1/0')).toBeGreaterThan(lsnValue('0/FFFFFFFF'));
    expect(normalLsn('00000000/0316b980')).toBe('0/316B980');
  });

  it('step one byte back, across the halves too', () => {
    expect(lsnBefore('0/316B980')).toBe('0/316B97F');
    expect(lsnBefore('00000002/00000000')).toBe('1/FFFFFFFF');
    expect(lsnBefore('0/0')).toBe('0/0');
  });
});
