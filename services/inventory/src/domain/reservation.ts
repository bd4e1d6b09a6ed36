import { fail, ok, type Result } from '@mercato/chassis/result';
import type { Allocation } from './allocation.ts';

export type ReservationStatus = 'active' | 'committed' | 'released' | 'expired' | 'returned';

export interface Reservation {
  id: string;
  status: ReservationStatus;
  expiresAt: Date;
  allocations: Allocation[];
}

/** `return`: a committed reservation's stock goes back on the shelf (its order was cancelled). */
export type ReservationAction = 'commit' | 'release' | 'expire' | 'return';

/** What a transition does to stock: hand held units back, take them away for good, or nothing. */
export type StockEffect = 'return_to_available' | 'consume_reserved' | 'restock' | 'none';

export interface Transition {
  status: ReservationStatus;
  effect: StockEffect;
}

export type TransitionRejection =
  | { reason: 'expired' }
  | { reason: 'not_active'; status: ReservationStatus }
  | { reason: 'not_due' };

/**
 * The reservation state machine. Repeating an action that already happened is a no-op (callers
 * retry), a reservation past its TTL can only expire, and finished reservations stay finished.
 */
export function transition(
  reservation: Reservation,
  action: ReservationAction,
  now: Date,
): Result<Transition, TransitionRejection> {
  const due = now.getTime() >= reservation.expiresAt.getTime();
  const done: Record<ReservationAction, ReservationStatus> = {
    commit: 'committed',
    release: 'released',
    expire: 'expired',
    return: 'returned',
  };
  if (reservation.status !== 'active') {
    if (reservation.status === done[action]) return ok({ status: reservation.status, effect: 'none' });
    // Releasing what already expired is what the caller wanted anyway.
    if (action === 'release' && reservation.status === 'expired')
      return ok({ status: reservation.status, effect: 'none' });
    // Returning what was never taken off the shelf, or is back already, leaves it as it is.
    if (action === 'return' && (reservation.status === 'released' || reservation.status === 'expired'))
      return ok({ status: reservation.status, effect: 'none' });
    if (action === 'return' && reservation.status === 'committed')
      return ok({ status: 'returned', effect: 'restock' });
    return fail({ reason: 'not_active', status: reservation.status });
  }
  switch (action) {
    case 'commit':
      return due ? fail({ reason: 'expired' }) : ok({ status: 'committed', effect: 'consume_reserved' });
    case 'release':
      return ok({ status: 'released', effect: 'return_to_available' });
    case 'expire':
      return due ? ok({ status: 'expired', effect: 'return_to_available' }) : fail({ reason: 'not_due' });
    case 'return':
      // Nothing left the shelf yet: returning it is releasing it.
      return ok({ status: 'released', effect: 'return_to_available' });
  }
}
