import { env, serviceConfigShape } from '@mercato/chassis';
import { z } from 'zod';

export const gatewayConfig = z.object({
  ...serviceConfigShape,
  PORT: env.port(8080),
  CATALOG_URL: env.url(['http', 'https'], 'http://127.0.0.1:4001'),
  UPSTREAM_TIMEOUT_MS: env.int({ min: 50, max: 60_000, default: 3_000 }),
});

export type GatewayConfig = z.output<typeof gatewayConfig>;
