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
  /** Where customer serves gRPC (the supervisor, or a Kubernetes Service name). */
  CUSTOMER_GRPC_URL: env.url(['http', 'https']),
  PRICING_SEED_DEMO: env.bool(true),
});

export type PricingConfig = z.output<typeof pricingConfig>;
