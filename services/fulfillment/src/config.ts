import {
  databaseConfigShape,
  env,
  grpcServerConfigShape,
  messagingConfigShape,
  serviceConfigShape,
} from '@mercato/chassis';
import * as z from 'zod';

export const fulfillmentConfig = z
  .object({
    ...serviceConfigShape,
    ...databaseConfigShape,
    ...messagingConfigShape,
    ...grpcServerConfigShape(),
    /** The carrier's HTTP API (the simulator in embedded mode). */
    CARRIER_URL: env.url(['http', 'https']),
    /** How long one call to the carrier may take before it is asked again later. */
    FULFILLMENT_CARRIER_TIMEOUT_MS: env.int({ min: 100, max: 60_000, default: 3_000 }),
    /**
     * How long a worker's claim on a shipment holds while the carrier is asked (with no transaction
     * open): the call is cut off before it runs out; a dead worker's shipment is taken over after it.
     */
    FULFILLMENT_CALL_LEASE_MS: env.int({ min: 200, max: 600_000, default: 10_000 }),
    /** How often a parcel with the carrier is tracked. */
    FULFILLMENT_TRACK_EVERY_MS: env.int({ min: 50, max: 3_600_000, default: 1_000 }),
    /** How often the worker looks for shipments due when nothing woke it. */
    FULFILLMENT_POLL_INTERVAL_MS: env.int({ min: 10, max: 60_000, default: 250 }),
    /**
     * Shipments moved on at once (each waits on the carrier, with no connection held). 0 pauses
     * shipping: confirmed orders wait as pending shipments (tests of the PlaceOrder saga alone).
     */
    FULFILLMENT_WORKERS: env.int({ min: 0, max: 32, default: 4 }),
  })
  .refine((config) => config.FULFILLMENT_CALL_LEASE_MS > config.FULFILLMENT_CARRIER_TIMEOUT_MS, {
    path: ['FULFILLMENT_CALL_LEASE_MS'],
    error: 'expected more than FULFILLMENT_CARRIER_TIMEOUT_MS (a claim must outlast a call)',
  });

export type FulfillmentConfig = z.output<typeof fulfillmentConfig>;
