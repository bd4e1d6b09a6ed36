import { currentRequestContext, type ServiceDefinition } from '@mercato/chassis';
import { createAuthenticator } from './auth/authenticator.ts';
import { type GatewayConfig, gatewayConfig } from './config.ts';
import { hardenEdge } from './edge/hardened-edge.ts';
import { MemoryRateLimitStore } from './rate-limit/memory-rate-limit-store.ts';
import { installRateLimits } from './rate-limit/rate-limit.hook.ts';
import { RedisRateLimitStore } from './rate-limit/redis-rate-limit-store.ts';
import { routeLimits } from './rate-limit/route-limits.ts';
import { authEdgeRoutes } from './routes/auth.routes.ts';
import { cartEdgeRoutes } from './routes/cart.routes.ts';
import { catalogEdgeRoutes } from './routes/catalog.routes.ts';
import { customerEdgeRoutes } from './routes/customer.routes.ts';
import { inventoryEdgeRoutes } from './routes/inventory.routes.ts';
import { createUpstreams } from './upstreams/upstreams.ts';

/** The gateway service as the chassis builds it; `main.ts` runs it, component tests create it. */
export const gatewayDefinition: ServiceDefinition<GatewayConfig> = {
  name: 'gateway',
  config: gatewayConfig,
  docs: { title: 'Mercato API', description: 'The public edge of the Mercato shop' },
  http: (config) => ({
    bodyLimitBytes: config.GATEWAY_BODY_LIMIT_BYTES,
    requestTimeoutMs: config.GATEWAY_REQUEST_TIMEOUT_MS,
    // Room for a long bearer token: a 16 KB forgery must reach the verifier and get its 401.
    maxHeaderBytes: 32 * 1024,
    trustProxy: config.GATEWAY_TRUSTED_PROXIES,
  }),
  setup(context) {
    const { config } = context;
    const upstreams = createUpstreams(context);
    const authenticate = createAuthenticator({
      jwksUrl: new URL('/.well-known/jwks.json', config.IDENTITY_URL).toString(),
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
    });
    const rateLimitStore =
      config.GATEWAY_RATE_LIMIT_STORE === 'redis' && config.REDIS_URL
        ? new RedisRateLimitStore(config.REDIS_URL)
        : new MemoryRateLimitStore();
    const limits = routeLimits({
      default: config.GATEWAY_RATE_LIMIT_DEFAULT,
      credentials: config.GATEWAY_RATE_LIMIT_CREDENTIALS,
    });
    return {
      onClose: () => rateLimitStore.close(),
      routes: async (app) => {
        await hardenEdge(app, { corsOrigins: config.GATEWAY_CORS_ORIGINS });
        installRateLimits(app, rateLimitStore, limits);
        // Every request gets a deadline here; upstream calls get what is left of it.
        app.addHook('onRequest', (_request, _reply, done) => {
          const requestContext = currentRequestContext();
          if (requestContext) requestContext.deadline = Date.now() + config.GATEWAY_DEADLINE_MS;
          done();
        });
        await app.register(catalogEdgeRoutes(upstreams));
        await app.register(authEdgeRoutes(upstreams));
        await app.register(inventoryEdgeRoutes(upstreams));
        await app.register(cartEdgeRoutes(upstreams, authenticate));
        await app.register(customerEdgeRoutes(upstreams, authenticate));
      },
      readiness: [
        { name: 'catalog', check: () => upstreams.catalog.client.listCategories({}).then(() => undefined) },
        { name: 'identity', check: () => upstreams.identity.client.getJwks({}).then(() => undefined) },
      ],
    };
  },
};
