import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cancel,
  cancelForFailedShipment,
  confirm,
  evolve,
  isTerminal,
  markDelivered,
  markShipped,
  type Order,
  placeOrder,
  recordPayment,
  recordReservation,
  refuseCancel,
  requestCancel,
} from './order.ts';
import type { CancellationReason, OrderEvent } from './order-events.ts';

const now = new Date('2026-11-28T10:00:00Z');
const lines = [
  { sku: 'BOK-0001', quantity: 3, unitPriceMinor: 1_299 },
  { sku: 'OUT-0002', quantity: 1, unitPriceMinor: 8_950 },
];
const placed = () => {
  const result = placeOrder(
    { orderId: 'ord_1', customerId: 'usr_1', lines, currency: 'EUR', shippingAddress: '1 Main St' },
    now,
  );
  if (!result.ok) throw new Error(result.error.reason);
  return result.value;
};
const apply = (order: Order | undefined, events: readonly OrderEvent[]) =>
  events.reduce<Order | undefined>(evolve, order) as Order;
const decided = (result: { ok: true; value: OrderEvent[] } | { ok: false }) => {
  if (!result.ok) throw new Error('rejected');
  return result.value;
};

describe('the Order aggregate', () => {
  it('fixes the total at placing, in minor units, and refuses empty or nonsensical lines', () => {
    expect(placed().totalMinor).toBe(3 * 1_299 + 8_950);
    const base = { orderId: 'o', customerId: 'c', currency: 'EUR', shippingAddress: 'x' };
    expect(placeOrder({ ...base, lines: [] }, now)).toEqual({ ok: false, error: { reason: 'empty_order' } });
    for (const bad of [0, -1, 1.5, 5_000])
      expect(placeOrder({ ...base, lines: [{ sku: 'S', quantity: bad, unitPriceMinor: 1 }] }, now).ok).toBe(
        false,
      );
    expect(placeOrder({ ...base, lines: [{ sku: 'S', quantity: 1, unitPriceMinor: 0.5 }] }, now).ok).toBe(
      false,
    );
  });

  it('goes pending → confirmed → shipped → delivered once stock and payment are in', () => {
    let order = apply(undefined, [placed()]);
    expect(confirm(order, now)).toEqual({ ok: false, error: { reason: 'missing_step', step: 'inventory' } });
    order = apply(order, decided(recordReservation(order, 'res_1', now)));
    order = apply(order, decided(recordPayment(order, 'pay_1', now)));
    order = apply(order, decided(confirm(order, now)));
    expect(order.status).toBe('confirmed');
    order = apply(order, decided(markShipped(order, 'shp_1', now)));
    expect(cancel(order, 'customer_request', now)).toEqual({
      ok: false,
      error: { reason: 'already_shipped', status: 'shipped' },
    });
    order = apply(order, decided(markDelivered(order, 'shp_1', now)));
    expect(order).toMatchObject({
      status: 'delivered',
      reservationId: 'res_1',
      paymentId: 'pay_1',
      shipmentId: 'shp_1',
    });
    expect(isTerminal(order)).toBe(true);
  });

  it('takes shipment events in any order: delivered before dispatched, dispatched again, a failure', () => {
    let order = apply(undefined, [placed()]);
    order = apply(order, decided(recordReservation(order, 'res_1', now)));
    order = apply(order, decided(recordPayment(order, 'pay_1', now)));
    order = apply(order, decided(confirm(order, now)));
    const early = decided(markDelivered(order, 'shp_1', now));
    expect(early.map((event) => event.type)).toEqual(['OrderShipped', 'OrderDelivered']);
    const delivered = apply(order, early);
    expect(delivered).toMatchObject({ status: 'delivered', shipmentId: 'shp_1' });
    expect(markShipped(delivered, 'shp_1', now)).toEqual({ ok: true, value: [] });
    expect(cancelForFailedShipment(delivered, 'parcel_lost', now).ok).toBe(false);

    const shipped = apply(order, decided(markShipped(order, 'shp_1', now)));
    const lost = apply(shipped, decided(cancelForFailedShipment(shipped, 'parcel_lost', now)));
    expect(lost).toMatchObject({
      status: 'cancelled',
      cancellation: 'shipping_failed',
      reason: 'shipping_failed',
      reasonDetail: 'parcel_lost',
    });
    expect(cancelForFailedShipment(lost, 'parcel_lost', now)).toEqual({ ok: true, value: [] });
    expect(markDelivered(lost, 'shp_1', now).ok).toBe(false);
  });

  it('treats a repeated reply as no change', () => {
    let order = apply(undefined, [placed()]);
    order = apply(order, decided(recordReservation(order, 'res_1', now)));
    expect(recordReservation(order, 'res_1', now)).toEqual({ ok: true, value: [] });
    order = apply(order, decided(cancel(order, 'payment_declined', now)));
    expect(cancel(order, 'step_timed_out', now)).toEqual({ ok: true, value: [] });
    expect(order.cancellation).toBe('payment_declined');
  });

  it('holds a cancel under way as cancel_pending: cancelled when done, confirmed again when refused, counting each cancellation', () => {
    let order = apply(undefined, [placed()]);
    order = apply(order, decided(recordReservation(order, 'res_1', now)));
    order = apply(order, decided(recordPayment(order, 'pay_1', now)));
    order = apply(order, decided(confirm(order, now)));
    order = apply(order, decided(requestCancel(order, now)));
    expect(order).toMatchObject({ status: 'cancel_pending', cancelAttempts: 1 });
    // Asking again while it is under way is no change, not a second cancellation.
    expect(requestCancel(order, now)).toEqual({ ok: true, value: [] });
    order = apply(order, decided(refuseCancel(order, 'hold shipment timed out', now)));
    expect(order).toMatchObject({
      status: 'confirmed',
      reason: 'cancel_refused',
      reasonDetail: 'hold shipment timed out',
    });
    // A later cancel is a cancellation of its own.
    order = apply(order, decided(requestCancel(order, now)));
    expect(order).toMatchObject({ status: 'cancel_pending', cancelAttempts: 2 });
    // The parcel left before it could be held: shipped, and the refusal that follows is no change.
    const shipped = apply(order, decided(markShipped(order, 'shp_1', now)));
    expect(shipped.status).toBe('shipped');
    expect(refuseCancel(shipped, 'hold shipment failed: already_dispatched', now)).toEqual({
      ok: true,
      value: [],
    });
    expect(requestCancel(shipped, now)).toEqual({
      ok: false,
      error: { reason: 'not_cancellable', status: 'shipped' },
    });
    order = apply(order, decided(cancel(order, 'customer_request', now)));
    expect(order).toMatchObject({ status: 'cancelled', reason: 'customer_request' });
    expect(requestCancel(order, now)).toEqual({ ok: true, value: [] });
  });

  it('whatever commands arrive in whatever order, only allowed transitions happen and finished orders stay finished', () => {
    const command = fc.oneof(
      fc.record({ kind: fc.constant('reserve' as const), id: fc.constantFrom('res_1', 'res_2') }),
      fc.record({ kind: fc.constant('pay' as const), id: fc.constantFrom('pay_1', 'pay_2') }),
      fc.record({ kind: fc.constant('confirm' as const) }),
      fc.record({
        kind: fc.constant('cancel' as const),
        reason: fc.constantFrom<CancellationReason>(
          'customer_request',
          'payment_declined',
          'shipping_failed',
        ),
      }),
      fc.record({ kind: fc.constant('ship' as const), id: fc.constantFrom('shp_1', 'shp_2') }),
      fc.record({ kind: fc.constant('deliver' as const), id: fc.constantFrom('shp_1', 'shp_2') }),
      fc.record({ kind: fc.constant('shipment failed' as const) }),
      fc.record({ kind: fc.constant('request cancel' as const) }),
      fc.record({ kind: fc.constant('refuse cancel' as const) }),
    );
    const allowed: Record<string, string[]> = {
      pending: ['pending', 'confirmed', 'cancel_pending', 'cancelled'],
      confirmed: ['confirmed', 'cancel_pending', 'cancelled', 'shipped', 'delivered'],
      // The semantic lock: it ends cancelled, confirmed again (refused), or overtaken by the parcel.
      cancel_pending: ['cancel_pending', 'cancelled', 'confirmed', 'shipped', 'delivered'],
      shipped: ['shipped', 'delivered', 'cancelled'],
      delivered: ['delivered'],
      cancelled: ['cancelled'],
    };
    fc.assert(
      fc.property(fc.array(command, { maxLength: 30 }), (commands) => {
        let order = apply(undefined, [placed()]);
        for (const next of commands) {
          const result =
            next.kind === 'reserve'
              ? recordReservation(order, next.id, now)
              : next.kind === 'pay'
                ? recordPayment(order, next.id, now)
                : next.kind === 'confirm'
                  ? confirm(order, now)
                  : next.kind === 'cancel'
                    ? cancel(order, next.reason, now)
                    : next.kind === 'ship'
                      ? markShipped(order, next.id, now)
                      : next.kind === 'deliver'
                        ? markDelivered(order, next.id, now)
                        : next.kind === 'request cancel'
                          ? requestCancel(order, now)
                          : next.kind === 'refuse cancel'
                            ? refuseCancel(order, 'hold shipment timed out', now)
                            : cancelForFailedShipment(order, 'parcel_lost', now);
          if (!result.ok) continue;
          const before = order;
          order = apply(order, result.value);
          expect(allowed[before.status]).toContain(order.status);
          // Confirmed only with both steps done; the total never changes after placing.
          if (order.status === 'confirmed') expect(order.reservationId && order.paymentId).toBeTruthy();
          expect(order.totalMinor).toBe(before.totalMinor);
          if (isTerminal(before)) expect(result.value).toEqual([]);
          // Every cancellation is counted once: a new one only from pending or confirmed.
          if (order.cancelAttempts !== before.cancelAttempts) {
            expect(['pending', 'confirmed']).toContain(before.status);
            expect(order.cancelAttempts).toBe(before.cancelAttempts + 1);
          }
        }
      }),
    );
  });
});
