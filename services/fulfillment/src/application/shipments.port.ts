import type { Transaction } from '@mercato/chassis';
import type { Shipment } from '../domain/shipment.ts';

/** Shipments as stored: one per order, locked for the transaction that changes it. */
export interface ShipmentStore {
  /** The order's shipment, locked until the transaction ends. */
  lockByOrder(transaction: Transaction, orderId: string): Promise<Shipment | undefined>;
  /**
   * Takes the shipment due soonest whose time has come and that nobody else holds: its next time
   * moves to `until`, so other workers leave it alone until then (and take it over if this one dies).
   * One statement, no transaction left open.
   */
  takeNextDue(now: Date, until: Date): Promise<{ orderId: string; attempts: number } | undefined>;
  /** When the shipment due soonest is due (null: none is), whoever holds it. */
  nextDueAt(): Promise<Date | null>;
  insert(transaction: Transaction, shipment: Shipment, nextAt: Date | null): Promise<void>;
  save(
    transaction: Transaction,
    shipment: Shipment,
    next: { at: Date | null; attempts: number },
  ): Promise<void>;
  find(orderId: string): Promise<Shipment | undefined>;
}

/**
 * The parcel carrier as fulfillment needs it. `signal` ends a call early (its claim is running out).
 * No call may be made with a database transaction open.
 */
export interface Carrier {
  handOver(input: {
    idempotencyKey: string;
    reference: string;
    address: string;
    parcels: { sku: string; quantity: number }[];
    signal?: AbortSignal;
  }): Promise<
    | { outcome: 'accepted'; shipmentId: string; trackingNumber: string; estimatedDelivery: Date | null }
    | { outcome: 'refused'; reason: string }
  >;
  /** Where the parcel is; `estimatedDelivery`, when the carrier gives one, says when to ask again. */
  track(
    carrierShipmentId: string,
    signal?: AbortSignal,
  ): Promise<{
    status: 'in_transit' | 'delivered' | 'lost';
    deliveredAt: Date | null;
    estimatedDelivery: Date | null;
  }>;
}
