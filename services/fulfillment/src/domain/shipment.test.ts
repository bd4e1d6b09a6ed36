import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cancelShipment,
  deliver,
  dispatch,
  failShipment,
  hold,
  isFinished,
  pack,
  pick,
  release,
  type Shipment,
} from './shipment.ts';

const now = new Date('2026-11-28T10:00:00Z');
const fresh = (): Shipment => ({
  id: 'shp_1',
  orderId: 'ord_1',
  customerId: 'cus_1',
  status: 'pending',
  heldFrom: null,
  lines: [{ sku: 'BOK-0001', quantity: 1 }],
  shippingAddress: '1 Test Road',
  reservationId: 'res_ord_1',
  carrierShipmentId: null,
  trackingNumber: null,
  reason: null,
  createdAt: now,
  updatedAt: now,
  dispatchedAt: null,
  deliveredAt: null,
});

const actions = {
  pick: (s: Shipment) => pick(s, now),
  pack: (s: Shipment) => pack(s, now),
  dispatch: (s: Shipment) => dispatch(s, { shipmentId: 'cs_1', trackingNumber: 'TRK1' }, now),
  deliver: (s: Shipment) => deliver(s, now, now),
  fail: (s: Shipment) => failShipment(s, 'parcel_lost', now),
  hold: (s: Shipment) => hold(s, 'customer_request', now),
  release: (s: Shipment) => release(s, now),
  cancel: (s: Shipment) => cancelShipment(s, 'customer_request', now),
};

describe('Shipment', () => {
  it('goes pending → picked → packed → dispatched → delivered', () => {
    let shipment = fresh();
    for (const step of [actions.pick, actions.pack, actions.dispatch, actions.deliver]) {
      const next = step(shipment);
      if (!next.ok) throw new Error(JSON.stringify(next.error));
      shipment = next.value;
    }
    expect(shipment).toMatchObject({
      status: 'delivered',
      carrierShipmentId: 'cs_1',
      trackingNumber: 'TRK1',
    });
    expect(isFinished(shipment)).toBe(true);
  });

  it('holds a parcel until the carrier has it, and releases it back to where it was', () => {
    const packed = { ...fresh(), status: 'packed' as const };
    const held = hold(packed, 'customer_request', now);
    expect(held).toMatchObject({ ok: true, value: { status: 'held', heldFrom: 'packed' } });
    if (!held.ok) return;
    expect(dispatch(held.value, { shipmentId: 'cs', trackingNumber: 'T' }, now).ok).toBe(false);
    expect(release(held.value, now)).toMatchObject({ ok: true, value: { status: 'packed', heldFrom: null } });
    const dispatched = { ...fresh(), status: 'dispatched' as const };
    expect(hold(dispatched, 'customer_request', now)).toEqual({
      ok: false,
      error: { reason: 'already_dispatched', status: 'dispatched' },
    });
  });

  it('whatever happens in whatever order, no parcel leaves once held or cancelled, and finished stays finished', () => {
    const names = Object.keys(actions) as (keyof typeof actions)[];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...names), { maxLength: 40 }), (sequence) => {
        let shipment = fresh();
        for (const name of sequence) {
          const before = shipment;
          const next = actions[name](before);
          if (!next.ok) continue;
          shipment = next.value;
          // A finished shipment never changes.
          if (isFinished(before)) expect(shipment.status).toBe(before.status);
          // Only a packed parcel is dispatched; a held or cancelled one never.
          if (shipment.status === 'dispatched' && before.status !== 'dispatched')
            expect(before.status).toBe('packed');
          // A delivered parcel was dispatched; a cancelled one never was.
          if (shipment.status === 'delivered') expect(shipment.dispatchedAt).not.toBeNull();
          if (shipment.status === 'cancelled') expect(shipment.dispatchedAt).toBeNull();
          // Once dispatched, the carrier's id stays.
          if (before.carrierShipmentId) expect(shipment.carrierShipmentId).toBe(before.carrierShipmentId);
        }
      }),
    );
  });
});
