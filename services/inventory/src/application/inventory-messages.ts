import type { OutboxEntry } from '@mercato/chassis';
import {
  createEnvelope,
  inventoryReleased,
  inventoryReservationFailed,
  inventoryReserved,
  legacyShelfReturned,
  stockLow,
} from '@mercato/contracts';
import type { Allocation, Shortfall } from '../domain/allocation.ts';

const source = 'inventory';
const allocationData = (allocations: Allocation[]) =>
  allocations.map((a) => ({ sku: a.sku, warehouse_id: a.warehouseId, quantity: a.quantity }));

/** Builds the inventory's outgoing events; each is keyed by what it is about, to keep its order. */
export const inventoryMessages = (correlationId: string, now: Date) => ({
  reserved: (reservationId: string, allocations: Allocation[], expiresAt: Date): OutboxEntry => ({
    kind: 'topic',
    destination: inventoryReserved.type,
    key: reservationId,
    envelope: createEnvelope({
      contract: inventoryReserved,
      source,
      correlationId,
      now,
      data: {
        reservation_id: reservationId,
        allocations: allocationData(allocations),
        expires_at: expiresAt.toISOString(),
      },
    }),
  }),
  failed: (reservationId: string, shortfall: Shortfall[]): OutboxEntry => ({
    kind: 'topic',
    destination: inventoryReservationFailed.type,
    key: reservationId,
    envelope: createEnvelope({
      contract: inventoryReservationFailed,
      source,
      correlationId,
      now,
      data: { reservation_id: reservationId, reason: 'insufficient_stock', lines: shortfall },
    }),
  }),
  released: (
    reservationId: string,
    reason: 'released' | 'expired',
    allocations: Allocation[],
  ): OutboxEntry => ({
    kind: 'topic',
    destination: inventoryReleased.type,
    key: reservationId,
    envelope: createEnvelope({
      contract: inventoryReleased,
      source,
      correlationId,
      now,
      data: { reservation_id: reservationId, reason, allocations: allocationData(allocations) },
    }),
  }),
  stockLow: (sku: string, available: number, threshold: number): OutboxEntry => ({
    kind: 'topic',
    destination: stockLow.type,
    key: sku,
    envelope: createEnvelope({
      contract: stockLow,
      source,
      correlationId,
      now,
      data: { sku, available, threshold },
    }),
  }),
  /** Stock given back to the monolith's shelf (keyed by the capability: applied in order). */
  shelfReturned: (
    transferId: string,
    handBack: boolean,
    lines: Array<{ productId: string; sku: string; quantity: number }>,
  ): OutboxEntry => ({
    kind: 'topic',
    destination: legacyShelfReturned.type,
    key: 'orders',
    envelope: createEnvelope({
      contract: legacyShelfReturned,
      source,
      correlationId,
      now,
      data: {
        transfer_id: transferId,
        hand_back: handBack,
        lines: lines.map((line) => ({ product_id: line.productId, sku: line.sku, quantity: line.quantity })),
      },
    }),
  }),
});
