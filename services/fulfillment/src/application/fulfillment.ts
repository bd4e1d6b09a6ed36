import {
  AppError,
  callOutside,
  callUnderWay,
  type Intent,
  type Logger,
  newId,
  type Outbox,
  type Pool,
  type SagaOutcome,
  type Transaction,
} from '@mercato/chassis';
import {
  cancelShipment,
  deliver,
  dispatch,
  failShipment,
  hold,
  pack,
  pick,
  release,
  type Shipment,
  type ShipmentLine,
} from '../domain/shipment.ts';
import { shipmentMessage } from './shipment-messages.ts';
import type { Carrier, ShipmentStore } from './shipments.port.ts';
import { nextTrackingAt } from './tracking-schedule.ts';

export interface ConfirmedOrder {
  orderId: string;
  customerId: string;
  lines: ShipmentLine[];
  shippingAddress: string;
  reservationId: string;
}

export interface FulfillmentDeps {
  pool: Pool;
  store: ShipmentStore;
  carrier: Carrier;
  outbox: Outbox;
  logger: Logger;
  /** How often a parcel with the carrier is tracked (from its estimated delivery on, if it has one). */
  trackEveryMs: number;
  /** How long a worker's claim on a shipment holds while it calls the carrier (longer than a call). */
  callLeaseMs: number;
  now: () => Date;
}

/** What a call to the carrier is about; a hold waits while one is under way. */
export const shipmentSubject = (orderId: string): string => `shipment:${orderId}`;

/** The carrier is being asked about this parcel: what it answers decides whether it can be held. */
const handOverUnderWay = (orderId: string) =>
  new AppError({
    code: 'FULFILLMENT.CARRIER_CALL_UNDER_WAY',
    kind: 'conflict',
    retryable: true,
    message: `the carrier is being asked about order ${orderId}'s parcel; try again when it has answered`,
  });

/** A carrier that did not answer is asked again after this, growing to 5 s; it is never given up on. */
const retryAfter = (attempts: number) => Math.min(5_000, 250 * 2 ** Math.min(attempts, 5));

/**
 * fulfillment's use cases: a confirmed order becomes a shipment; the worker picks, packs, hands it
 * to the carrier and tracks it, each change with its event in one transaction; a cancellation holds
 * a parcel that has not left.
 */
export class Fulfillment {
  readonly #deps: FulfillmentDeps;

  constructor(deps: FulfillmentDeps) {
    this.#deps = deps;
  }

  /** order.confirmed: the order's shipment, pending (a hold that came first keeps it waiting). */
  async orderConfirmed(transaction: Transaction, order: ConfirmedOrder): Promise<void> {
    const { store, now } = this.#deps;
    const existing = await store.lockByOrder(transaction, order.orderId);
    const details = {
      customerId: order.customerId,
      lines: order.lines,
      shippingAddress: order.shippingAddress,
      reservationId: order.reservationId,
    };
    if (existing) {
      // A duplicate, or a tombstone from a hold or cancellation that arrived first.
      if (existing.lines.length > 0) return;
      const filled = { ...existing, ...details };
      await store.save(transaction, filled, { at: filled.status === 'pending' ? now() : null, attempts: 0 });
      return;
    }
    const at = now();
    await store.insert(transaction, this.#fresh(order.orderId, at, details), at);
  }

  /**
   * The cancel saga's first step: the parcel must not leave. While the carrier is being asked about
   * it (a hand-over's answer decides whether it left), the command is retried a moment later.
   */
  async hold(transaction: Transaction, orderId: string, reason: string): Promise<SagaOutcome> {
    const { found, shipment } = await this.#lockOrTombstone(transaction, orderId);
    if (found && (await callUnderWay(transaction, shipmentSubject(orderId)))) throw handOverUnderWay(orderId);
    const held = hold(shipment, reason, this.#deps.now());
    if (!held.ok) return { success: false, reason: held.error.reason };
    await this.#keep(transaction, found, held.value);
    return { success: true, result: { status: held.value.status } };
  }

  /** Compensates a hold: the cancellation did not go through. */
  async release(transaction: Transaction, orderId: string): Promise<SagaOutcome> {
    const { store, now } = this.#deps;
    const existing = await store.lockByOrder(transaction, orderId);
    if (!existing) return { success: true };
    const released = release(existing, now());
    if (!released.ok) return { success: true };
    const ready = released.value.lines.length > 0 && released.value.status !== existing.status;
    await store.save(transaction, released.value, { at: ready ? now() : null, attempts: 0 });
    return { success: true, result: { status: released.value.status } };
  }

  /** order.cancelled: a parcel not with the carrier never leaves (a late confirmation ships nothing). */
  async orderCancelled(transaction: Transaction, orderId: string, reason: string): Promise<void> {
    const { found, shipment } = await this.#lockOrTombstone(transaction, orderId);
    if (found && (await callUnderWay(transaction, shipmentSubject(orderId)))) throw handOverUnderWay(orderId);
    const cancelled = cancelShipment(shipment, reason, this.#deps.now());
    if (!cancelled.ok) {
      this.#deps.logger.warn(
        { order_id: orderId, status: shipment.status },
        'order cancelled after its parcel left',
      );
      return;
    }
    if (!found || cancelled.value !== shipment) await this.#keep(transaction, found, cancelled.value);
  }

  /**
   * The order's shipment, locked; or, for an order not heard of yet, an empty one (no lines) that
   * the domain then holds or cancels like any other: stored as a tombstone, it makes a late
   * order.confirmed ship nothing.
   */
  async #lockOrTombstone(transaction: Transaction, orderId: string) {
    const existing = await this.#deps.store.lockByOrder(transaction, orderId);
    return existing
      ? { found: true, shipment: existing }
      : { found: false, shipment: this.#fresh(orderId, this.#deps.now()) };
  }

  /** Stores a held or cancelled shipment: nothing is due for it. */
  #keep(transaction: Transaction, found: boolean, shipment: Shipment): Promise<void> {
    return found
      ? this.#deps.store.save(transaction, shipment, { at: null, attempts: 0 })
      : this.#deps.store.insert(transaction, shipment, null);
  }

  find(orderId: string): Promise<Shipment | undefined> {
    return this.#deps.store.find(orderId);
  }

  /**
   * Moves the shipment due soonest one stage on, with the carrier if that stage needs it; false when
   * nothing is due. Claim, call, record: the shipment is taken (its next time pushed a lease ahead)
   * and, when the carrier is needed, claimed and brought to `packed` in a short transaction; the
   * carrier is called with no transaction open (its idempotency key is the shipment id, so a repeat
   * finds the first parcel); the answer is recorded in a second transaction if the claim is still
   * this worker's. A hold meanwhile waits for the answer; a worker that dies leaves the shipment due
   * again when the lease ends.
   */
  /** When the next shipment is due (null: none is). */
  nextDueAt(): Promise<Date | null> {
    return this.#deps.store.nextDueAt();
  }

  async advanceNext(): Promise<boolean> {
    const { pool, store, now, callLeaseMs } = this.#deps;
    const taken = await store.takeNextDue(now(), new Date(now().getTime() + callLeaseMs));
    if (!taken) return false;
    await callOutside(pool, {
      subject: shipmentSubject(taken.orderId),
      leaseMs: callLeaseMs,
      intent: (transaction) => this.#intent(transaction, taken.orderId, taken.attempts),
    });
    return true;
  }

  /** Step 1: the warehouse's stages at once; the carrier's, if due, as a call to make. */
  async #intent(transaction: Transaction, orderId: string, attempts: number): Promise<Intent<void>> {
    const { store, now, callLeaseMs } = this.#deps;
    const before = await store.lockByOrder(transaction, orderId);
    if (!before) return { settled: undefined };
    // Held, cancelled or done: nothing is due.
    if (!['pending', 'picked', 'packed', 'dispatched'].includes(before.status)) {
      await store.save(transaction, before, { at: null, attempts: 0 });
      return { settled: undefined };
    }
    let current = before;
    // The warehouse's part: instant here, but each stage is a state of its own.
    if (current.status === 'pending') current = decided(pick(current, now()));
    if (current.status === 'picked') current = decided(pack(current, now()));
    const asking = current;
    if (asking.status === 'dispatched' && !asking.carrierShipmentId) {
      await this.#record(transaction, before, asking, { at: null, attempts: 0 });
      return { settled: undefined };
    }
    // Kept packed while the carrier is asked; due again when the claim ends, should this worker die.
    if (asking !== before)
      await store.save(transaction, asking, { at: new Date(now().getTime() + callLeaseMs), attempts });
    return {
      call: async (signal) => {
        try {
          const next = await this.#askCarrier(asking, signal);
          return (outcome) =>
            this.#recordAnswer(outcome, asking, next.shipment, { at: next.at, attempts: 0 });
        } catch (error) {
          this.#deps.logger.warn(
            { err: error, order_id: orderId, status: asking.status, attempts: attempts + 1 },
            'the carrier did not answer; will ask again',
          );
          const at = new Date(now().getTime() + retryAfter(attempts));
          return (outcome) => this.#recordAnswer(outcome, asking, asking, { at, attempts: attempts + 1 });
        }
      },
    };
  }

  /** Step 2, with no transaction open: hand the parcel over, or track it. */
  async #askCarrier(
    shipment: Shipment,
    signal: AbortSignal,
  ): Promise<{ shipment: Shipment; at: Date | null }> {
    const { carrier, now, trackEveryMs } = this.#deps;
    const tracked = (estimate: Date | null) => nextTrackingAt(now(), trackEveryMs, estimate);
    if (shipment.status === 'packed') {
      const handed = await carrier.handOver({
        idempotencyKey: shipment.id,
        reference: shipment.orderId,
        address: shipment.shippingAddress,
        parcels: shipment.lines,
        signal,
      });
      return handed.outcome === 'accepted'
        ? {
            shipment: decided(
              dispatch(
                shipment,
                { shipmentId: handed.shipmentId, trackingNumber: handed.trackingNumber },
                now(),
              ),
            ),
            at: tracked(handed.estimatedDelivery),
          }
        : { shipment: decided(failShipment(shipment, handed.reason, now())), at: null };
    }
    const tracking = await carrier.track(shipment.carrierShipmentId ?? '', signal);
    if (tracking.status === 'delivered')
      return { shipment: decided(deliver(shipment, tracking.deliveredAt ?? now(), now())), at: null };
    if (tracking.status === 'lost')
      return { shipment: decided(failShipment(shipment, 'parcel_lost', now())), at: null };
    return { shipment, at: tracked(tracking.estimatedDelivery) };
  }

  /** Step 3: the carrier's answer, unless the shipment moved meanwhile (then it is not overwritten). */
  async #recordAnswer(
    transaction: Transaction,
    asked: Shipment,
    after: Shipment,
    next: { at: Date | null; attempts: number },
  ): Promise<void> {
    const current = await this.#deps.store.lockByOrder(transaction, asked.orderId);
    if (!current || current.status !== asked.status) {
      this.#deps.logger.warn(
        { order_id: asked.orderId, asked: asked.status, now: current?.status },
        'shipment changed while the carrier was asked; its answer is not recorded',
      );
      return;
    }
    await this.#record(transaction, asked, after, next);
  }

  async #record(
    transaction: Transaction,
    before: Shipment,
    after: Shipment,
    next: { at: Date | null; attempts: number },
  ): Promise<void> {
    await this.#deps.store.save(transaction, after, next);
    if (after.status === before.status) return;
    const message = shipmentMessage(after, newId('corr'), this.#deps.now());
    if (message) await this.#deps.outbox.append(transaction, [message]);
  }

  #fresh(
    orderId: string,
    at: Date,
    details: Pick<Shipment, 'customerId' | 'lines' | 'shippingAddress' | 'reservationId'> = {
      customerId: '',
      lines: [],
      shippingAddress: '',
      reservationId: '',
    },
  ): Shipment {
    return {
      id: newId('shp'),
      orderId,
      ...details,
      status: 'pending',
      heldFrom: null,
      carrierShipmentId: null,
      trackingNumber: null,
      reason: null,
      createdAt: at,
      updatedAt: at,
      dispatchedAt: null,
      deliveredAt: null,
    };
  }
}

/** The worker only asks for transitions the state allows; a refusal here is a bug. */
function decided(result: { ok: true; value: Shipment } | { ok: false; error: unknown }): Shipment {
  if (!result.ok) throw new Error(`shipment transition refused: ${JSON.stringify(result.error)}`);
  return result.value;
}
