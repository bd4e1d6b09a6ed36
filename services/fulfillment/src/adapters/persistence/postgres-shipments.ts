import type { Pool, Transaction } from '@mercato/chassis';
import type { ShipmentStore } from '../../application/shipments.port.ts';
import type { Shipment, ShipmentLine, ShipmentStatus } from '../../domain/shipment.ts';

interface ShipmentRow {
  id: string;
  order_id: string;
  customer_id: string;
  status: ShipmentStatus;
  held_from: ShipmentStatus | null;
  lines: ShipmentLine[];
  shipping_address: string;
  reservation_id: string;
  carrier_shipment_id: string | null;
  tracking_number: string | null;
  reason: string | null;
  attempts: number;
  created_at: Date;
  updated_at: Date;
  dispatched_at: Date | null;
  delivered_at: Date | null;
}

/** Named, not `*`: the statements stay prepared (a `*` read is never prepared; see the chassis pool). */
const COLUMNS = `id, order_id, customer_id, status, held_from, lines, shipping_address, reservation_id,
  carrier_shipment_id, tracking_number, reason, attempts, created_at, updated_at, dispatched_at, delivered_at`;

const toShipment = (row: ShipmentRow): Shipment & { attempts: number } => ({
  id: row.id,
  orderId: row.order_id,
  customerId: row.customer_id,
  status: row.status,
  heldFrom: row.held_from,
  lines: row.lines,
  shippingAddress: row.shipping_address,
  reservationId: row.reservation_id,
  carrierShipmentId: row.carrier_shipment_id,
  trackingNumber: row.tracking_number,
  reason: row.reason,
  attempts: row.attempts,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  dispatchedAt: row.dispatched_at,
  deliveredAt: row.delivered_at,
});

const strip = ({ attempts: _attempts, ...shipment }: Shipment & { attempts: number }): Shipment => shipment;

export class PostgresShipments implements ShipmentStore {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async lockByOrder(transaction: Transaction, orderId: string): Promise<Shipment | undefined> {
    const { rows } = await transaction.query<ShipmentRow>(
      `SELECT ${COLUMNS} FROM shipments WHERE order_id = $1 FOR UPDATE`,
      [orderId],
    );
    return rows[0] && strip(toShipment(rows[0]));
  }

  async takeNextDue(now: Date, until: Date): Promise<{ orderId: string; attempts: number } | undefined> {
    const { rows } = await this.#pool.query<{ order_id: string; attempts: number }>(
      `UPDATE shipments SET next_at = $2
        WHERE id = (SELECT id FROM shipments WHERE next_at IS NOT NULL AND next_at <= $1
                     ORDER BY next_at LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING order_id, attempts`,
      [now, until],
    );
    const row = rows[0];
    return row && { orderId: row.order_id, attempts: row.attempts };
  }

  async nextDueAt(): Promise<Date | null> {
    const { rows } = await this.#pool.query<{ next_at: Date }>(
      'SELECT next_at FROM shipments WHERE next_at IS NOT NULL ORDER BY next_at LIMIT 1',
    );
    return rows[0]?.next_at ?? null;
  }

  async insert(transaction: Transaction, shipment: Shipment, nextAt: Date | null): Promise<void> {
    await transaction.query(
      `INSERT INTO shipments (id, order_id, customer_id, status, held_from, lines, shipping_address,
                              reservation_id, reason, next_at, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)`,
      [
        shipment.id,
        shipment.orderId,
        shipment.customerId,
        shipment.status,
        shipment.heldFrom,
        JSON.stringify(shipment.lines),
        shipment.shippingAddress,
        shipment.reservationId,
        shipment.reason,
        nextAt,
        shipment.createdAt,
      ],
    );
  }

  async save(
    transaction: Transaction,
    shipment: Shipment,
    next: { at: Date | null; attempts: number },
  ): Promise<void> {
    await transaction.query(
      `UPDATE shipments SET customer_id = $2, status = $3, held_from = $4, lines = $5, shipping_address = $6,
              reservation_id = $7, carrier_shipment_id = $8, tracking_number = $9, reason = $10,
              next_at = $11, attempts = $12, updated_at = $13, dispatched_at = $14, delivered_at = $15
        WHERE id = $1`,
      [
        shipment.id,
        shipment.customerId,
        shipment.status,
        shipment.heldFrom,
        JSON.stringify(shipment.lines),
        shipment.shippingAddress,
        shipment.reservationId,
        shipment.carrierShipmentId,
        shipment.trackingNumber,
        shipment.reason,
        next.at,
        next.attempts,
        shipment.updatedAt,
        shipment.dispatchedAt,
        shipment.deliveredAt,
      ],
    );
  }

  async find(orderId: string): Promise<Shipment | undefined> {
    const { rows } = await this.#pool.query<ShipmentRow>(
      `SELECT ${COLUMNS} FROM shipments WHERE order_id = $1`,
      [orderId],
    );
    return rows[0] && strip(toShipment(rows[0]));
  }
}
