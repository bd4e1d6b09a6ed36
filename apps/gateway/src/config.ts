import { env, rpcClientConfigShape, serviceConfigShape } from '@mercato/chassis';
import { z } from 'zod';
import { policySetting } from './rate-limit/route-limits.ts';

const grpcUrl = (port: number) => env.url(['http', 'https'], `http://127.0.0.1:${port}`);

export const gatewayConfig = z
  .object({
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
    GATEWAY_CORS_ORIGINS: env.list('http://localhost:5173,http://127.0.0.1:5173'),
    /** Proxies (IPs or CIDRs, comma-separated) whose X-Forwarded-For is believed; none by default. */
    GATEWAY_TRUSTED_PROXIES: env.list(''),
    GATEWAY_RATE_LIMIT_STORE: z
      .enum(['memory', 'redis'], { error: 'expected memory or redis' })
      .default('memory'),
    /** Required with GATEWAY_RATE_LIMIT_STORE=redis, so limits hold across gateway replicas. */
    REDIS_URL: env.optionalUrl(['redis', 'rediss']),
    GATEWAY_RATE_LIMIT_DEFAULT: policySetting('token_bucket:100/10000'),
    GATEWAY_RATE_LIMIT_CREDENTIALS: policySetting('sliding_window:10/60000'),
    CATALOG_GRPC_URL: grpcUrl(5001),
    IDENTITY_GRPC_URL: grpcUrl(5002),
    CUSTOMER_GRPC_URL: grpcUrl(5003),
    PRICING_GRPC_URL: grpcUrl(5004),
    INVENTORY_GRPC_URL: grpcUrl(5005),
    /** Where identity publishes its JWKS over HTTP. */
    IDENTITY_URL: env.url(['http', 'https'], 'http://127.0.0.1:4002'),
    JWT_ISSUER: env.string('mercato-identity'),
    JWT_AUDIENCE: env.string('mercato'),
  })
  .refine((config) => config.GATEWAY_RATE_LIMIT_STORE !== 'redis' || config.REDIS_URL !== undefined, {
    error: 'REDIS_URL is required when GATEWAY_RATE_LIMIT_STORE=redis',
    path: ['REDIS_URL'],
  });

export type GatewayConfig = z.output<typeof gatewayConfig>;
