import type { Transaction } from '@mercato/chassis';
import type { Shipment } from '../domain/shipment.ts';

/** Shipments as stored: one per order, locked for the transaction that changes it. */
export interface ShipmentStore {
  /** The order's shipment, locked until the transaction ends. */
  lockByOrder(transaction: Transaction, orderId: string): Promise<Shipment | undefined>;
  /** The shipment due soonest whose time has come and that nobody else holds, locked. */
  lockNextDue(transaction: Transaction, now: Date): Promise<(Shipment & { attempts: number }) | undefined>;
  insert(transaction: Transaction, shipment: Shipment, nextAt: Date | null): Promise<void>;
  save(
    transaction: Transaction,
    shipment: Shipment,
    next: { at: Date | null; attempts: number },
  ): Promise<void>;
  find(orderId: string): Promise<Shipment | undefined>;
}

/** The parcel carrier as fulfillment needs it. */
export interface Carrier {
  handOver(input: {
    idempotencyKey: string;
    reference: string;
    address: string;
    parcels: { sku: string; quantity: number }[];
  }): Promise<
    | { outcome: 'accepted'; shipmentId: string; trackingNumber: string }
    | { outcome: 'refused'; reason: string }
  >;
  track(
    carrierShipmentId: string,
  ): Promise<{ status: 'in_transit' | 'delivered' | 'lost'; deliveredAt: Date | null }>;
}
