import { assertOutsideTransaction, JsonHttpClient, type JsonRequest } from '@mercato/chassis';
import type { Carrier } from '../../application/shipments.port.ts';

interface CarrierShipmentJson {
  id: string;
  status: 'refused' | 'in_transit' | 'delivered' | 'lost';
  rejection_code: string | null;
  tracking_number: string;
  estimated_delivery?: string | null;
  delivered_at: string | null;
}

/** The carrier's estimate, if it gave one; one that does not read as a time is ignored by nextTrackingAt. */
const estimateOf = (body: CarrierShipmentJson): Date | null =>
  body.estimated_delivery ? new Date(body.estimated_delivery) : null;

/** A carrier answer fulfillment cannot act on (5xx, a network failure, a timeout): asked again later. */
export class CarrierUnavailable extends Error {
  override name = 'CarrierUnavailable';
}

/**
 * The carrier's HTTP API (the simulator in apps/carrier, or a real one behind the same shape). A
 * hand-over carries the shipment id as its idempotency key, so asking again after a timeout or a
 * crash finds the first parcel instead of sending a second.
 */
export class HttpCarrier implements Carrier {
  readonly #client: JsonHttpClient;

  constructor(baseUrl: string, timeoutMs: number) {
    this.#client = new JsonHttpClient(baseUrl, { timeoutMs });
  }

  async handOver(input: Parameters<Carrier['handOver']>[0]): ReturnType<Carrier['handOver']> {
    const { status, body } = await this.#call({
      method: 'POST',
      path: '/v1/shipments',
      headers: { 'idempotency-key': input.idempotencyKey },
      body: { reference: input.reference, address: input.address, parcels: input.parcels },
      signal: input.signal,
    });
    if (status === 201)
      return {
        outcome: 'accepted',
        shipmentId: body.id,
        trackingNumber: body.tracking_number,
        estimatedDelivery: estimateOf(body),
      };
    if (status === 422) return { outcome: 'refused', reason: body.rejection_code ?? 'refused_by_carrier' };
    throw new CarrierUnavailable(`the carrier answered ${status} to a hand-over`);
  }

  async track(carrierShipmentId: string, signal?: AbortSignal): ReturnType<Carrier['track']> {
    const { status, body } = await this.#call({
      method: 'GET',
      path: `/v1/shipments/${encodeURIComponent(carrierShipmentId)}`,
      route: '/v1/shipments/{id}',
      signal,
    });
    if (status !== 200) throw new CarrierUnavailable(`the carrier answered ${status} to tracking`);
    const tracked = body.status === 'refused' ? 'lost' : body.status;
    return {
      status: tracked,
      deliveredAt: body.delivered_at ? new Date(body.delivered_at) : null,
      estimatedDelivery: estimateOf(body),
    };
  }

  async #call(request: JsonRequest): Promise<{ status: number; body: CarrierShipmentJson }> {
    assertOutsideTransaction(`carrier ${request.method} ${request.path}`);
    try {
      const answer = await this.#client.request(request);
      return { status: answer.status, body: (answer.body ?? {}) as CarrierShipmentJson };
    } catch (error) {
      throw new CarrierUnavailable(`the carrier did not answer: ${(error as Error).message}`);
    }
  }
}
