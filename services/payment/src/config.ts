import {
  databaseConfigShape,
  env,
  grpcServerConfigShape,
  messagingConfigShape,
  serviceConfigShape,
} from '@mercato/chassis';
import { z } from 'zod';

export const paymentConfig = z.object({
  ...serviceConfigShape,
  ...databaseConfigShape,
  ...messagingConfigShape,
  ...grpcServerConfigShape(),
  /** The payment provider's API (the simulator in embedded mode). */
  PAYMENT_PROVIDER_URL: env.url(['http', 'https']),
  /** How long one call to the provider may take. */
  PAYMENT_PROVIDER_TIMEOUT_MS: env.int({ min: 100, max: 120_000, default: 5_000 }),
});

export type PaymentConfig = z.output<typeof paymentConfig>;
