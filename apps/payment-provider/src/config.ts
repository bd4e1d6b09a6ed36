import { databaseConfigShape, env, serviceConfigShape } from '@mercato/chassis';
import * as z from 'zod';

const rate = (fallback: number) => z.coerce.number().min(0).max(1).default(fallback);

export const providerConfig = z.object({
  ...serviceConfigShape,
  ...databaseConfigShape,
  /** Share of authorizations declined (card_declined), 0..1. */
  PROVIDER_DECLINE_RATE: rate(0),
  /** Share of refunds that fail (refund_failed), 0..1. */
  PROVIDER_REFUND_FAILURE_RATE: rate(0),
  /** Added before every answer of the API. */
  PROVIDER_LATENCY_MS: env.int({ min: 0, max: 120_000, default: 0 }),
  /** When true, the API answers 503 to everything. */
  PROVIDER_OUTAGE: env.bool(false),
});

export type ProviderConfig = z.output<typeof providerConfig>;
