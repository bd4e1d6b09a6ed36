import { assertOutsideTransaction } from '@mercato/chassis';
import type { Carrier } from '../../application/shipments.port.ts';

interface CarrierShipmentJson {
  id: string;
  status: 'refused' | 'in_transit' | 'delivered' | 'lost';
  rejection_code: string | null;
  tracking_number: string;
  delivered_at: string | null;
}

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
  readonly #baseUrl: string;
  readonly #timeoutMs: number;

  constructor(baseUrl: string, timeoutMs: number) {
    this.#baseUrl = baseUrl.replace(/\/$/, '');
    this.#timeoutMs = timeoutMs;
  }

  async handOver(input: Parameters<Carrier['handOver']>[0]): ReturnType<Carrier['handOver']> {
    const { status, body } = await this.#call('/v1/shipments', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': input.idempotencyKey },
      body: JSON.stringify({ reference: input.reference, address: input.address, parcels: input.parcels }),
      signal: input.signal,
    });
    if (status === 201)
      return { outcome: 'accepted', shipmentId: body.id, trackingNumber: body.tracking_number };
    if (status === 422) return { outcome: 'refused', reason: body.rejection_code ?? 'refused_by_carrier' };
    throw new CarrierUnavailable(`the carrier answered ${status} to a hand-over`);
  }

  async track(carrierShipmentId: string, signal?: AbortSignal): ReturnType<Carrier['track']> {
    const { status, body } = await this.#call(`/v1/shipments/${encodeURIComponent(carrierShipmentId)}`, {
      method: 'GET',
      signal,
    });
    if (status !== 200) throw new CarrierUnavailable(`the carrier answered ${status} to tracking`);
    const tracked = body.status === 'refused' ? 'lost' : body.status;
    return { status: tracked, deliveredAt: body.delivered_at ? new Date(body.delivered_at) : null };
  }

  async #call(
    route: string,
    init: Omit<RequestInit, 'signal'> & { signal?: AbortSignal | undefined },
  ): Promise<{ status: number; body: CarrierShipmentJson }> {
    assertOutsideTransaction(`carrier ${init.method} ${route}`);
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    let response: Response;
    try {
      response = await fetch(`${this.#baseUrl}${route}`, {
        ...init,
        signal: init.signal ? AbortSignal.any([timeout, init.signal]) : timeout,
      });
    } catch (error) {
      throw new CarrierUnavailable(`the carrier did not answer: ${(error as Error).message}`);
    }
    const body = (await response.json().catch(() => ({}))) as CarrierShipmentJson;
    return { status: response.status, body };
  }
}
