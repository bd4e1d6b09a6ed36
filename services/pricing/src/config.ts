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
  PORT: env.port(4004),
  ...grpcServerConfigShape(5004),
  CUSTOMER_GRPC_URL: env.url(['http', 'https'], 'http://127.0.0.1:5003'),
  PRICING_SEED_DEMO: env.bool(true),
});

export type PricingConfig = z.output<typeof pricingConfig>;
