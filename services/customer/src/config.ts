import {
  databaseConfigShape,
  env,
  grpcServerConfigShape,
  messagingConfigShape,
  serviceConfigShape,
} from '@mercato/chassis';
import * as z from 'zod';

export const customerConfig = z.object({
  ...serviceConfigShape,
  ...databaseConfigShape,
  ...messagingConfigShape,
  ...grpcServerConfigShape(),
  /** Makes the demo shop's users members (so member discounts show up in quotes). */
  CUSTOMER_SEED_DEMO: env.bool(true),
});

export type CustomerConfig = z.output<typeof customerConfig>;
