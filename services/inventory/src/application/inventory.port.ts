import type { Transaction } from '@mercato/chassis';
import type { ReservationLine, Shortfall } from '../domain/allocation.ts';
import type { Reservation } from '../domain/reservation.ts';

export interface WarehouseStock {
  warehouseId: string;
  available: number;
  reserved: number;
}

export interface StockLevel {
  sku: string;
  available: number;
  reserved: number;
  warehouses: WarehouseStock[];
}

export interface ReserveCommand {
  reservationId: string;
  lines: ReservationLine[];
  ttlSeconds: number;
}

/** The inventory's use cases. Every method is safe to repeat with the same arguments. */
export interface Inventory {
  getStock(skus: readonly string[]): Promise<StockLevel[]>;
  /** All or nothing; throws INVENTORY.INSUFFICIENT_STOCK (and records the failure) when short. */
  reserve(command: ReserveCommand): Promise<Reservation>;
  release(reservationId: string): Promise<Reservation>;
  commit(reservationId: string): Promise<Reservation>;
  /** Expires active reservations whose TTL has passed; returns how many. */
  expireDue(limit?: number): Promise<number>;
  setStock(sku: string, warehouseId: string, available: number): Promise<void>;
}

/** The use cases a saga drives by command, each inside the transaction of the command it answers. */
export interface SagaInventory {
  reserveIn(
    transaction: Transaction,
    command: ReserveCommand,
  ): Promise<Reservation | { failed: Shortfall[] }>;
  releaseIn(transaction: Transaction, reservationId: string): Promise<Reservation>;
  commitIn(transaction: Transaction, reservationId: string): Promise<Reservation>;
}
