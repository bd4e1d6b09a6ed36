import { env, rpcClientConfigShape, serviceConfigShape } from '@mercato/chassis';
import { z } from 'zod';

const grpcUrl = (port: number) => env.url(['http', 'https'], `http://127.0.0.1:${port}`);

export const gatewayConfig = z.object({
  ...serviceConfigShape,
  // client → 5 s → gateway → 3 s → service → 1 s → service (ARCHITECTURE §6).
  ...rpcClientConfigShape({ timeoutMs: 3_000 }),
  PORT: env.port(8080),
  /** The whole request's deadline; each upstream call gets what is left of it. */
  GATEWAY_DEADLINE_MS: env.int({ min: 50, max: 60_000, default: 5_000 }),
  GATEWAY_BODY_LIMIT_BYTES: env.int({ min: 1_024, max: 50 * 1024 * 1024, default: 1024 * 1024 }),
  /** A request (head and body) must arrive within this; slow senders are cut off. */
  GATEWAY_REQUEST_TIMEOUT_MS: env.int({ min: 100, max: 300_000, default: 10_000 }),
  /** Comma-separated browser origins allowed by CORS. */
  GATEWAY_CORS_ORIGINS: z
    .string()
    .default('http://localhost:5173,http://127.0.0.1:5173')
    .transform((value) =>
      value
        .split(',')
        .map((origin) => origin.trim())
        .filter(Boolean),
    ),
  CATALOG_GRPC_URL: grpcUrl(5001),
  IDENTITY_GRPC_URL: grpcUrl(5002),
  CUSTOMER_GRPC_URL: grpcUrl(5003),
  PRICING_GRPC_URL: grpcUrl(5004),
  INVENTORY_GRPC_URL: grpcUrl(5005),
  /** Where identity publishes its JWKS over HTTP. */
  IDENTITY_URL: env.url(['http', 'https'], 'http://127.0.0.1:4002'),
  JWT_ISSUER: env.string('mercato-identity'),
  JWT_AUDIENCE: env.string('mercato'),
});

export type GatewayConfig = z.output<typeof gatewayConfig>;
