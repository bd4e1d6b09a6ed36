import {
  databaseConfigShape,
  env,
  grpcServerConfigShape,
  messagingConfigShape,
  rpcClientConfigShape,
  serviceConfigShape,
} from '@mercato/chassis';
import { z } from 'zod';

export const pricingConfig = z.object({
  ...serviceConfigShape,
  ...databaseConfigShape,
  ...messagingConfigShape,
  ...rpcClientConfigShape({ timeoutMs: 1_000 }),
  ...grpcServerConfigShape(),
  PRICING_SEED_DEMO: env.bool(true),
  /**
   * How long a customer's segment is reused without asking customer again (0: never). A
   * `customer.updated` forgets it at once on the instance that consumes the event.
   */
  PRICING_SEGMENT_CACHE_MS: env.int({ min: 0, max: 3_600_000, default: 30_000 }),
});

export type PricingConfig = z.output<typeof pricingConfig>;
