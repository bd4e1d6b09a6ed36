import {
  databaseConfigShape,
  env,
  grpcServerConfigShape,
  messagingConfigShape,
  serviceConfigShape,
} from '@mercato/chassis';
import * as z from 'zod';

export const paymentConfig = z
  .object({
    ...serviceConfigShape,
    ...databaseConfigShape,
    ...messagingConfigShape,
    ...grpcServerConfigShape(),
    /** The payment provider's API (the simulator in embedded mode). */
    PAYMENT_PROVIDER_URL: env.url(['http', 'https']),
    /** How long one call to the provider may take. */
    PAYMENT_PROVIDER_TIMEOUT_MS: env.int({ min: 100, max: 120_000, default: 5_000 }),
    /**
     * How long a claim on an order's payment holds while the provider is called (with no transaction
     * open): a command's calls are cut off before it runs out; a crashed attempt's claim is taken over
     * after it. Longer than the two calls a command makes.
     */
    PAYMENT_CALL_LEASE_MS: env.int({ min: 200, max: 600_000, default: 15_000 }),
  })
  .refine((config) => config.PAYMENT_CALL_LEASE_MS > config.PAYMENT_PROVIDER_TIMEOUT_MS, {
    path: ['PAYMENT_CALL_LEASE_MS'],
    error: 'expected more than PAYMENT_PROVIDER_TIMEOUT_MS (a claim must outlast a call)',
  });

export type PaymentConfig = z.output<typeof paymentConfig>;
