import { describe, expect, it } from 'vitest';
import { type Reservation, transition } from './reservation.ts';

const at = (iso: string) => new Date(`2026-11-24T${iso}Z`);
const active: Reservation = { id: 'r1', status: 'active', expiresAt: at('10:15:00'), allocations: [] };

describe('reservation transitions', () => {
  it('commits before its TTL and refuses after it', () => {
    expect(transition(active, 'commit', at('10:14:59'))).toEqual({
      ok: true,
      value: { status: 'committed', effect: 'consume_reserved' },
    });
    expect(transition(active, 'commit', at('10:15:00'))).toEqual({ ok: false, error: { reason: 'expired' } });
  });

  it('expires only when due', () => {
    expect(transition(active, 'expire', at('10:00:00')).ok).toBe(false);
    expect(transition(active, 'expire', at('10:15:00'))).toEqual({
      ok: true,
      value: { status: 'expired', effect: 'return_to_available' },
    });
  });

  it('treats a repeated action as done and keeps finished reservations finished', () => {
    const committed = { ...active, status: 'committed' as const };
    expect(transition(committed, 'commit', at('11:00:00'))).toEqual({
      ok: true,
      value: { status: 'committed', effect: 'none' },
    });
    expect(transition(committed, 'release', at('10:00:00'))).toEqual({
      ok: false,
      error: { reason: 'not_active', status: 'committed' },
    });
    expect(transition({ ...active, status: 'expired' }, 'release', at('11:00:00')).ok).toBe(true);
    expect(transition({ ...active, status: 'released' }, 'commit', at('10:00:00')).ok).toBe(false);
  });

  it('returns a committed reservation to the shelf once, and releases one still active', () => {
    const committed = { ...active, status: 'committed' as const };
    expect(transition(committed, 'return', at('11:00:00'))).toEqual({
      ok: true,
      value: { status: 'returned', effect: 'restock' },
    });
    expect(transition({ ...active, status: 'returned' }, 'return', at('11:00:00'))).toEqual({
      ok: true,
      value: { status: 'returned', effect: 'none' },
    });
    expect(transition(active, 'return', at('10:00:00'))).toEqual({
      ok: true,
      value: { status: 'released', effect: 'return_to_available' },
    });
    expect(transition({ ...active, status: 'released' }, 'return', at('10:00:00')).ok).toBe(true);
  });
});
