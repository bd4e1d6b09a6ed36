import {
  databaseConfigShape,
  env,
  grpcServerConfigShape,
  messagingConfigShape,
  rpcClientConfigShape,
  serviceConfigShape,
} from '@mercato/chassis';
import * as z from 'zod';

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
  /**
   * Which discount engine prices a basket (branch by abstraction, application/discount-engine.ts):
   * `v1`; `shadow` (both run, v1 answers, differences reported at /admin/experiments); `v2` (v2
   * answers for PRICING_DISCOUNT_ENGINE_V2_PERCENT of customers, the rest are in shadow).
   */
  PRICING_DISCOUNT_ENGINE: z
    .enum(['v1', 'shadow', 'v2'], { error: 'expected v1, shadow or v2' })
    .default('shadow'),
  PRICING_DISCOUNT_ENGINE_V2_PERCENT: env.int({ min: 0, max: 100, default: 100 }),
  /** The currency the legacy monolith's prices are in (it priced in one and kept no currency column). */
  PRICING_LEGACY_CURRENCY: z
    .string()
    .regex(/^[A-Z]{3}$/, { error: 'expected an ISO 4217 code such as EUR' })
    .default('EUR'),
});

export type PricingConfig = z.output<typeof pricingConfig>;
