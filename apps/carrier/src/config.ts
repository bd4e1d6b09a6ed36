import { databaseConfigShape, env, serviceConfigShape } from '@mercato/chassis';
import * as z from 'zod';

const rate = (fallback: number) => z.coerce.number().min(0).max(1).default(fallback);

export const carrierConfig = z.object({
  ...serviceConfigShape,
  ...databaseConfigShape,
  /** Share of parcels refused when handed over (`address_unserviceable`), 0..1. */
  CARRIER_FAILURE_RATE: rate(0),
  /** Share of accepted parcels lost on the way (tracking ends `lost`), 0..1. */
  CARRIER_LOST_RATE: rate(0),
  /** How long an accepted parcel is in transit before it is delivered (or found lost). */
  CARRIER_DELIVERY_MS: env.int({ min: 0, max: 86_400_000, default: 3_000 }),
  /** Added before every answer of the API. */
  CARRIER_LATENCY_MS: env.int({ min: 0, max: 120_000, default: 0 }),
  /** When true, the API answers 503 to everything. */
  CARRIER_OUTAGE: env.bool(false),
});

export type CarrierConfig = z.output<typeof carrierConfig>;
