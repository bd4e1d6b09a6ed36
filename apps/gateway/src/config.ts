import { fileURLToPath } from 'node:url';
import { env, rpcClientConfigShape, serviceConfigShape } from '@mercato/chassis';
import * as z from 'zod';
import { policySetting } from './rate-limit/policy-setting.ts';

/** A rate-limit policy kept as written, for `${...}` in the routing table; checked at start-up. */
const policyText = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .superRefine((value, ctx) => {
      const parsed = policySetting.safeParse(value);
      if (!parsed.success)
        ctx.addIssue({ code: 'custom', message: parsed.error.issues[0]?.message ?? 'invalid' });
    });

const defaultRoutesFile = fileURLToPath(new URL('../config/routes.json', import.meta.url));

export const gatewayConfig = z
  .object({
    ...serviceConfigShape,
    // client → 5 s → gateway → 3 s → service → 1 s → service (ARCHITECTURE §6).
    // Upstream calls beyond each dependency's adaptive concurrency limit are refused at once (503).
    ...rpcClientConfigShape({ timeoutMs: 3_000, concurrencyLimit: 'adaptive' }),
    PORT: env.port(8080),
    /**
     * Orders being placed at once through the edge are held under an adaptive concurrency limit
     * between MIN and MAX (`adaptive`); beyond it the edge answers 503 GATEWAY.OVERLOADED at once.
     */
    GATEWAY_PLACEMENT_LIMIT: z
      .enum(['adaptive', 'off'], { error: 'expected adaptive or off' })
      .default('adaptive'),
    GATEWAY_PLACEMENT_LIMIT_MIN: env.int({ min: 1, max: 100_000, default: 1 }),
    GATEWAY_PLACEMENT_LIMIT_MAX: env.int({ min: 1, max: 100_000, default: 256 }),
    /** The whole request's deadline; each upstream call gets what is left of it. */
    GATEWAY_DEADLINE_MS: env.int({ min: 50, max: 60_000, default: 5_000 }),
    /** Each part of a composed answer (dashboard, storefront pages) gets this long, then is degraded. */
    GATEWAY_COMPOSITION_PART_TIMEOUT_MS: env.int({ min: 10, max: 30_000, default: 1_000 }),
    GATEWAY_BODY_LIMIT_BYTES: env.int({ min: 1_024, max: 50 * 1024 * 1024, default: 1024 * 1024 }),
    /** A request (head and body) must arrive within this; slow senders are cut off. */
    GATEWAY_REQUEST_TIMEOUT_MS: env.int({ min: 100, max: 300_000, default: 10_000 }),
    /** Comma-separated browser origins allowed by CORS. */
    GATEWAY_CORS_ORIGINS: env.list('http://localhost:5173,http://127.0.0.1:5173'),
    /**
     * The public edge over TLS (HTTPS on PORT, no client certificate asked): this certificate and its
     * key (PEM), both or neither; replaced files are taken without a restart. Unset: plain HTTP.
     */
    GATEWAY_TLS_CERT_FILE: z.string().min(1).optional(),
    GATEWAY_TLS_KEY_FILE: z.string().min(1).optional(),
    /** Proxies (IPs or CIDRs, comma-separated) whose X-Forwarded-For is believed; none by default. */
    GATEWAY_TRUSTED_PROXIES: env.list(''),
    GATEWAY_RATE_LIMIT_STORE: z
      .enum(['memory', 'redis'], { error: 'expected memory or redis' })
      .default('memory'),
    /** Required with GATEWAY_RATE_LIMIT_STORE=redis, so limits hold across gateway replicas. */
    REDIS_URL: env.optionalUrl(['redis', 'rediss']),
    /** The routing table (JSON); reloaded when the file changes or on SIGHUP. */
    GATEWAY_ROUTES_FILE: env.string(defaultRoutesFile),
    /** Offered to the routing table as ${GATEWAY_RATE_LIMIT_DEFAULT} and ${GATEWAY_RATE_LIMIT_CREDENTIALS}. */
    GATEWAY_RATE_LIMIT_DEFAULT: policyText('token_bucket:100/10000'),
    GATEWAY_RATE_LIMIT_CREDENTIALS: policyText('sliding_window:10/60000'),
    /** Comma-separated `client:key` pairs; a request with `X-API-Key` is counted against its client. */
    GATEWAY_API_KEYS: env
      .list('')
      .refine(
        (entries) => entries.every((entry) => /^[a-z][a-z0-9-]{0,62}:[A-Za-z0-9_-]{24,256}$/.test(entry)),
        {
          error: 'expected client:key pairs (client in lower case, key of 24+ URL-safe characters)',
        },
      ),
    /** Live streams (SSE) one signed-in user may hold open at once; beyond it, 429. */
    GATEWAY_STREAMS_PER_USER: env.int({ min: 1, max: 10_000, default: 10 }),
    /** Live streams one address may hold open without a token (public stock levels). */
    GATEWAY_STREAMS_PER_IP: env.int({ min: 1, max: 100_000, default: 50 }),
    /**
     * An identity provider outside the shop whose JWKS checks access tokens. Unset: identity's, found
     * by name like every service the gateway calls (the routing table's clusters name them).
     */
    IDENTITY_URL: env.optionalUrl(['http', 'https']),
    /** The supervisor's API, which the ops console at /ops reaches through /ops/api/* (set by npm start). */
    SUPERVISOR_URL: env.optionalUrl(['http', 'https']),
    JWT_ISSUER: env.string('mercato-identity'),
    JWT_AUDIENCE: env.string('mercato'),
  })
  .refine((config) => config.GATEWAY_RATE_LIMIT_STORE !== 'redis' || config.REDIS_URL !== undefined, {
    error: 'REDIS_URL is required when GATEWAY_RATE_LIMIT_STORE=redis',
    path: ['REDIS_URL'],
  })
  .refine((config) => config.GATEWAY_PLACEMENT_LIMIT_MIN <= config.GATEWAY_PLACEMENT_LIMIT_MAX, {
    error: 'GATEWAY_PLACEMENT_LIMIT_MIN must not be above GATEWAY_PLACEMENT_LIMIT_MAX',
    path: ['GATEWAY_PLACEMENT_LIMIT_MIN'],
  })
  .refine((config) => config.RPC_LIMIT_MIN <= config.RPC_LIMIT_MAX, {
    error: 'RPC_LIMIT_MIN must not be above RPC_LIMIT_MAX',
    path: ['RPC_LIMIT_MIN'],
  })
  .refine(
    (config) => (config.GATEWAY_TLS_CERT_FILE === undefined) === (config.GATEWAY_TLS_KEY_FILE === undefined),
    {
      error: 'GATEWAY_TLS_CERT_FILE and GATEWAY_TLS_KEY_FILE go together: set both or neither',
      path: ['GATEWAY_TLS_CERT_FILE'],
    },
  );

export type GatewayConfig = z.output<typeof gatewayConfig>;
