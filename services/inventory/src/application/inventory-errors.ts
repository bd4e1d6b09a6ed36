import { AppError, conflict, notFound } from '@mercato/chassis';
import type { Shortfall } from '../domain/allocation.ts';
import type { TransitionRejection } from '../domain/reservation.ts';

/** The inventory's stable error codes, all in one place. */
export const inventoryErrors = {
  unknownSku: (sku: string) => notFound('INVENTORY.UNKNOWN_SKU', `No stock is kept for SKU ${sku}`),
  reservationNotFound: (id: string) =>
    notFound('INVENTORY.RESERVATION_NOT_FOUND', `Reservation ${id} does not exist`),
  insufficientStock: (id: string, shortfall: Shortfall[]) =>
    new AppError({
      code: 'INVENTORY.INSUFFICIENT_STOCK',
      kind: 'conflict',
      message: `Reservation ${id} cannot be covered: ${shortfall
        .map((line) => `${line.sku} wants ${line.requested}, ${line.available} available`)
        .join('; ')}`,
      details: { shortfall },
    }),
  /** Retryable: the monolith gave its shelf up and inventory takes it over in a moment. */
  stockMoving: (id: string, skus: readonly string[]) =>
    new AppError({
      code: 'INVENTORY.STOCK_MOVING',
      kind: 'unavailable',
      retryable: true,
      message: `Reservation ${id} waits: the legacy shop's stock of ${skus.join(', ')} is moving to inventory`,
    }),
  monolithRetired: () =>
    conflict(
      'INVENTORY.MONOLITH_RETIRED',
      'The monolith is retiring or retired: inventory keeps its shelf and takes its orders for good',
    ),
  ordersNotMoved: (owner: string) =>
    conflict(
      'INVENTORY.ORDERS_NOT_MOVED',
      `inventory does not take the monolith's orders for good (it says ${owner}): the monolith cannot retire yet`,
      { owner },
    ),
  reservationFailed: (id: string) =>
    new AppError({
      code: 'INVENTORY.RESERVATION_FAILED',
      kind: 'conflict',
      message: `Reservation ${id} was never made: its stock was short`,
    }),
  rejectedTransition: (id: string, rejection: TransitionRejection) =>
    new AppError({
      code:
        rejection.reason === 'expired' ? 'INVENTORY.RESERVATION_EXPIRED' : 'INVENTORY.RESERVATION_NOT_ACTIVE',
      kind: 'conflict',
      message:
        rejection.reason === 'not_active'
          ? `Reservation ${id} is already ${rejection.status}`
          : `Reservation ${id} has expired`,
    }),
};
