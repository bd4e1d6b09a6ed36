import { createHash } from 'node:crypto';
import { newId, type Pool } from '@mercato/chassis';

export interface Parcel {
  sku: string;
  quantity: number;
}

/** A shipment as the API shows it; its status follows from its fate and the clock. */
export interface CarrierShipment {
  id: string;
  object: 'shipment';
  reference: string;
  address: string;
  parcels: Parcel[];
  status: 'refused' | 'in_transit' | 'delivered' | 'lost';
  rejection_code: string | null;
  tracking_number: string;
  estimated_delivery: string;
  delivered_at: string | null;
  created: string;
}

interface ShipmentRow {
  id: string;
  request_hash: string;
  reference: string;
  address: string;
  parcels: Parcel[];
  accepted: boolean;
  rejection_code: string | null;
  lost: boolean;
  tracking_number: string;
  deliver_at: Date;
  created_at: Date;
}

/** Named, not `*`: the statements stay prepared (a `*` read is never prepared; see the chassis pool). */
const COLUMNS =
  'id, request_hash, reference, address, parcels, accepted, rejection_code, lost, tracking_number, deliver_at, created_at';

export const shipmentJson = (row: ShipmentRow, now: Date): CarrierShipment => {
  const arrived = row.deliver_at.getTime() <= now.getTime();
  const status = !row.accepted ? 'refused' : !arrived ? 'in_transit' : row.lost ? 'lost' : 'delivered';
  return {
    id: row.id,
    object: 'shipment',
    reference: row.reference,
    address: row.address,
    parcels: row.parcels,
    status,
    rejection_code: row.rejection_code,
    tracking_number: row.tracking_number,
    estimated_delivery: row.deliver_at.toISOString(),
    delivered_at: status === 'delivered' ? row.deliver_at.toISOString() : null,
    created: row.created_at.toISOString(),
  };
};

export type Handover =
  | { outcome: 'created' | 'replayed'; shipment: CarrierShipment }
  | { outcome: 'key_reused' };

/**
 * The carrier's books on PostgreSQL. A parcel is recorded with the sender's idempotency key in one
 * statement, so a retried hand-over (the sender timed out, or died) finds the first parcel and its
 * answer instead of shipping a second one.
 */
export class CarrierBooks {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async handOver(
    key: string,
    request: { reference: string; address: string; parcels: Parcel[] },
    fate: { refused: boolean; lost: boolean; deliveryMs: number },
    now: Date,
  ): Promise<Handover> {
    const hash = createHash('sha256').update(JSON.stringify(request)).digest('hex');
    const inserted = await this.#pool.query<ShipmentRow>(
      `INSERT INTO shipments (id, idempotency_key, request_hash, reference, address, parcels, accepted,
                              rejection_code, lost, tracking_number, deliver_at, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
       ON CONFLICT (idempotency_key) DO NOTHING RETURNING ${COLUMNS}`,
      [
        newId('cs'),
        key,
        hash,
        request.reference,
        request.address,
        JSON.stringify(request.parcels),
        !fate.refused,
        fate.refused ? 'address_unserviceable' : null,
        fate.lost,
        `TRK${newId('').slice(-12).toUpperCase()}`,
        new Date(now.getTime() + fate.deliveryMs),
        now,
      ],
    );
    const created = inserted.rows[0];
    if (created) return { outcome: 'created', shipment: shipmentJson(created, now) };
    const { rows } = await this.#pool.query<ShipmentRow>(
      `SELECT ${COLUMNS} FROM shipments WHERE idempotency_key = $1`,
      [key],
    );
    const first = rows[0];
    if (!first || first.request_hash !== hash) return { outcome: 'key_reused' };
    return { outcome: 'replayed', shipment: shipmentJson(first, now) };
  }

  async find(id: string, now: Date): Promise<CarrierShipment | undefined> {
    const { rows } = await this.#pool.query<ShipmentRow>(`SELECT ${COLUMNS} FROM shipments WHERE id = $1`, [
      id,
    ]);
    return rows[0] && shipmentJson(rows[0], now);
  }

  async byReference(reference: string, now: Date): Promise<CarrierShipment[]> {
    const { rows } = await this.#pool.query<ShipmentRow>(
      `SELECT ${COLUMNS} FROM shipments WHERE reference = $1 ORDER BY created_at`,
      [reference],
    );
    return rows.map((row) => shipmentJson(row, now));
  }
}
