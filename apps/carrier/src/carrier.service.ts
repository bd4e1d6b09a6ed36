import { fileURLToPath } from 'node:url';
import type { ServiceDefinition } from '@mercato/chassis';
import { carrierRoutes } from './carrier.routes.ts';
import { CarrierBooks } from './carrier-books.ts';
import { type CarrierConfig, carrierConfig } from './config.ts';
import { KnobPanel } from './knobs.ts';

/**
 * The carrier simulator: not a Mercato service but the outside world fulfillment hands parcels to,
 * run by the supervisor in embedded mode so the shop works offline.
 */
export const carrierDefinition: ServiceDefinition<CarrierConfig, { database: true }> = {
  name: 'carrier',
  config: carrierConfig,
  migrations: fileURLToPath(new URL('../migrations', import.meta.url)),
  docs: { title: 'Carrier (simulator)', description: 'A parcel carrier API for local runs' },
  setup({ config, db }) {
    const knobs = new KnobPanel({
      failure_rate: config.CARRIER_FAILURE_RATE,
      lost_rate: config.CARRIER_LOST_RATE,
      delivery_ms: config.CARRIER_DELIVERY_MS,
      latency_ms: config.CARRIER_LATENCY_MS,
      outage: config.CARRIER_OUTAGE,
    });
    return { routes: carrierRoutes(new CarrierBooks(db), knobs) };
  },
};
