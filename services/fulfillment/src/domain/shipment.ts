import { fail, ok, type Result } from '@mercato/chassis/result';

export type ShipmentStatus =
  | 'pending'
  | 'picked'
  | 'packed'
  | 'dispatched'
  | 'delivered'
  | 'failed'
  | 'held'
  | 'cancelled';

export interface ShipmentLine {
  sku: string;
  quantity: number;
}

/**
 * One order's parcel. `held` is a cancellation in progress (the order's cancel saga asked): the
 * parcel waits, then is cancelled when the order is, or released back to where it was.
 */
export interface Shipment {
  id: string;
  orderId: string;
  customerId: string;
  status: ShipmentStatus;
  /** Where a held parcel goes back to when released. */
  heldFrom: ShipmentStatus | null;
  lines: ShipmentLine[];
  shippingAddress: string;
  reservationId: string;
  carrierShipmentId: string | null;
  trackingNumber: string | null;
  reason: string | null;
  createdAt: Date;
  updatedAt: Date;
  dispatchedAt: Date | null;
  deliveredAt: Date | null;
}

export type ShipmentRejection =
  | { reason: 'already_dispatched'; status: ShipmentStatus }
  | { reason: 'not_allowed'; action: string; status: ShipmentStatus };

type Decision = Result<Shipment, ShipmentRejection>;

const FINISHED: readonly ShipmentStatus[] = ['delivered', 'failed', 'cancelled'];
const WITH_CARRIER: readonly ShipmentStatus[] = ['dispatched', 'delivered'];

export const isFinished = (shipment: Shipment): boolean => FINISHED.includes(shipment.status);

const move = (shipment: Shipment, changes: Partial<Shipment>, now: Date): Decision =>
  ok({ ...shipment, ...changes, updatedAt: now });

const refuse = (shipment: Shipment, action: string): Decision =>
  fail({ reason: 'not_allowed', action, status: shipment.status });

/** The warehouse picked the lines. */
export function pick(shipment: Shipment, now: Date): Decision {
  if (shipment.status !== 'pending') return refuse(shipment, 'pick');
  return move(shipment, { status: 'picked' }, now);
}

/** The lines are packed into a parcel, ready for the carrier. */
export function pack(shipment: Shipment, now: Date): Decision {
  if (shipment.status !== 'picked') return refuse(shipment, 'pack');
  return move(shipment, { status: 'packed' }, now);
}

/** The carrier took the parcel. */
export function dispatch(
  shipment: Shipment,
  carrier: { shipmentId: string; trackingNumber: string },
  now: Date,
): Decision {
  if (shipment.status !== 'packed') return refuse(shipment, 'dispatch');
  return move(
    shipment,
    {
      status: 'dispatched',
      carrierShipmentId: carrier.shipmentId,
      trackingNumber: carrier.trackingNumber,
      dispatchedAt: now,
    },
    now,
  );
}

export function deliver(shipment: Shipment, deliveredAt: Date, now: Date): Decision {
  if (shipment.status !== 'dispatched') return refuse(shipment, 'deliver');
  return move(shipment, { status: 'delivered', deliveredAt }, now);
}

/** The carrier refused the parcel (before dispatch) or lost it (after). */
export function failShipment(shipment: Shipment, reason: string, now: Date): Decision {
  if (shipment.status !== 'packed' && shipment.status !== 'dispatched') return refuse(shipment, 'fail');
  return move(shipment, { status: 'failed', reason }, now);
}

/**
 * A cancellation asks to keep the parcel: allowed until the carrier has it. Holding what is held,
 * cancelled or failed is no change (nothing will leave); a parcel with the carrier is refused.
 */
export function hold(shipment: Shipment, reason: string, now: Date): Decision {
  if (shipment.status === 'held' || shipment.status === 'cancelled' || shipment.status === 'failed')
    return ok(shipment);
  if (WITH_CARRIER.includes(shipment.status))
    return fail({ reason: 'already_dispatched', status: shipment.status });
  return move(shipment, { status: 'held', heldFrom: shipment.status, reason }, now);
}

/** The cancellation did not go through: a held parcel goes on from where it was. */
export function release(shipment: Shipment, now: Date): Decision {
  if (shipment.status !== 'held') return ok(shipment);
  return move(shipment, { status: shipment.heldFrom ?? 'pending', heldFrom: null, reason: null }, now);
}

/** The order was cancelled: a parcel not with the carrier never leaves. */
export function cancelShipment(shipment: Shipment, reason: string, now: Date): Decision {
  if (shipment.status === 'cancelled' || shipment.status === 'failed') return ok(shipment);
  if (WITH_CARRIER.includes(shipment.status))
    return fail({ reason: 'already_dispatched', status: shipment.status });
  return move(shipment, { status: 'cancelled', heldFrom: null, reason }, now);
}
