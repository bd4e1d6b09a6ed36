import {
  createAuthenticator,
  experimentRoutes,
  identityJwks,
  type ServiceDefinition,
} from '@mercato/chassis';
import { requireTokenWhereDeclared } from './auth/authentication-first.ts';
import { createAuthorizationStep } from './auth/authorization.step.ts';
import { BlockedUsers, followBlockedUsers } from './auth/blocked-users.ts';
import { createIdentification, parseApiKeys } from './auth/identification.ts';
import { type GatewayConfig, gatewayConfig } from './config.ts';
import { installEdgePipeline } from './edge/edge-pipeline.ts';
import { hardenEdge, rejectAmbiguousFraming } from './edge/hardened-edge.ts';
import { MemoryRateLimitStore } from './rate-limit/memory-rate-limit-store.ts';
import { createRateLimitStep } from './rate-limit/rate-limit.step.ts';
import { authEdgeRoutes } from './routes/auth.routes.ts';
import { cartEdgeRoutes } from './routes/cart.routes.ts';
import { catalogEdgeRoutes } from './routes/catalog.routes.ts';
import { customerEdgeRoutes } from './routes/customer.routes.ts';
import { dashboardEdgeRoutes } from './routes/dashboard.routes.ts';
import { inventoryEdgeRoutes } from './routes/inventory.routes.ts';
import { legacyCustomerReads } from './routes/legacy-customer.routes.ts';
import { legacyCustomerWrites } from './routes/legacy-customer-writes.ts';
import { legacyProductReads } from './routes/legacy-product-reads.ts';
import { orderEdgeRoutes } from './routes/order.routes.ts';
import { orderLiveRoutes } from './routes/order-live.routes.ts';
import { readModelEdgeRoutes } from './routes/read-model.routes.ts';
import { storefrontEdgeRoutes } from './routes/storefront.routes.ts';
import { installProxying } from './routing/proxy.step.ts';
import { routeTableRoutes } from './routing/route-table.routes.ts';
import { watchRouteTable } from './routing/route-table-watcher.ts';
import { createRoutingStep } from './routing/routing.step.ts';
import { LiveStreams } from './streams/live-streams.ts';
import { createUpstreams } from './upstreams/upstreams.ts';
import { webAppRoutes } from './web/web-app.routes.ts';

/** What the routing table may refer to as `${NAME}`: the gateway's settings, then the environment. */
const tableVariables = (config: GatewayConfig): Record<string, string | undefined> => ({
  ...process.env,
  GATEWAY_RATE_LIMIT_DEFAULT: config.GATEWAY_RATE_LIMIT_DEFAULT,
  GATEWAY_RATE_LIMIT_CREDENTIALS: config.GATEWAY_RATE_LIMIT_CREDENTIALS,
});

/** The gateway service as the chassis builds it; `main.ts` runs it, component tests create it. */
export const gatewayDefinition: ServiceDefinition<GatewayConfig> = {
  name: 'gateway',
  config: gatewayConfig,
  docs: {
    title: 'Mercato API',
    description: 'The public edge of the Mercato shop',
    ui: true,
    servers: [{ url: 'http://localhost:8080', description: 'npm start (MERCATO_GATEWAY_PORT)' }],
  },
  http: (config) => ({
    bodyLimitBytes: config.GATEWAY_BODY_LIMIT_BYTES,
    requestTimeoutMs: config.GATEWAY_REQUEST_TIMEOUT_MS,
    // Room for a long bearer token: a 16 KB forgery must reach the verifier and get its 401.
    maxHeaderBytes: 32 * 1024,
    trustProxy: config.GATEWAY_TRUSTED_PROXIES,
    publicTls:
      config.GATEWAY_TLS_CERT_FILE && config.GATEWAY_TLS_KEY_FILE
        ? {
            certFile: config.GATEWAY_TLS_CERT_FILE,
            keyFile: config.GATEWAY_TLS_KEY_FILE,
            names: { cert: 'GATEWAY_TLS_CERT_FILE', key: 'GATEWAY_TLS_KEY_FILE' },
          }
        : undefined,
  }),
  async setup(context) {
    const { config } = context;
    const table = watchRouteTable({
      file: config.GATEWAY_ROUTES_FILE,
      variables: tableVariables(config),
      logger: context.logger,
      registry: context.metrics.registry,
    });
    const upstreams = createUpstreams(context);
    const blocked = new BlockedUsers();
    const identification = createIdentification(
      createAuthenticator({
        // identity found by name, unless an identity provider outside the shop is configured.
        jwksUrl: config.IDENTITY_URL
          ? new URL('/.well-known/jwks.json', config.IDENTITY_URL).toString()
          : identityJwks(context.discovery),
        issuer: config.JWT_ISSUER,
        audience: config.JWT_AUDIENCE,
      }),
      parseApiKeys(config.GATEWAY_API_KEYS),
      blocked,
    );
    const streams = new LiveStreams(
      { perUser: config.GATEWAY_STREAMS_PER_USER, perAddress: config.GATEWAY_STREAMS_PER_IP },
      blocked,
      context.metrics.registry,
    );
    // The Redis client is loaded only when limits are kept in Redis.
    const rateLimitStore =
      config.GATEWAY_RATE_LIMIT_STORE === 'redis' && config.REDIS_URL
        ? new (await import('./rate-limit/redis-rate-limit-store.ts')).RedisRateLimitStore(config.REDIS_URL)
        : new MemoryRateLimitStore();
    const partTimeoutMs = config.GATEWAY_COMPOSITION_PART_TIMEOUT_MS;
    const fallbackClients = () => upstreams.forRoute(table.current().fallback);
    followBlockedUsers({
      blocked,
      watch: (signal) => fallbackClients().identity.client.watchBlockedUsers({}, { signal }),
      logger: context.logger,
      signal: context.stopping,
    });
    const experimentSettings = { registry: context.metrics.registry, logger: context.logger };
    const customerReads = legacyCustomerReads(upstreams, identification, experimentSettings);
    const productReads = legacyProductReads(upstreams, identification, experimentSettings);
    return {
      onClose: async () => {
        table.close();
        await rateLimitStore.close();
      },
      routes: async (app) => {
        await hardenEdge(app, { corsOrigins: config.GATEWAY_CORS_ORIGINS });
        installEdgePipeline(app, {
          route: createRoutingStep(app, table, config.GATEWAY_DEADLINE_MS),
          checkFraming: rejectAmbiguousFraming,
          authorize: createAuthorizationStep(identification),
          limit: createRateLimitStep(rateLimitStore, identification),
          proxy: await installProxying(app, config.GATEWAY_BODY_LIMIT_BYTES, upstreams.httpBackends),
        });
        requireTokenWhereDeclared(app, identification);
        await app.register(catalogEdgeRoutes(upstreams));
        await app.register(authEdgeRoutes(upstreams));
        await app.register(inventoryEdgeRoutes(upstreams, identification, streams));
        await app.register(cartEdgeRoutes(upstreams, identification));
        await app.register(customerEdgeRoutes(upstreams, identification));
        await app.register(dashboardEdgeRoutes(upstreams, identification, partTimeoutMs));
        await app.register(storefrontEdgeRoutes(upstreams, identification, partTimeoutMs));
        await app.register(orderEdgeRoutes(upstreams, identification));
        await app.register(readModelEdgeRoutes(identification, upstreams));
        await app.register(orderLiveRoutes(upstreams, identification, streams));
        await app.register(customerReads.routes);
        await app.register(legacyCustomerWrites(upstreams, identification, context.logger));
        await app.register(productReads.routes);
        await app.register(experimentRoutes([customerReads.experiment, ...productReads.experiments]));
        await app.register(routeTableRoutes(table));
        await app.register(
          webAppRoutes({
            identification,
            supervisorUrl: config.SUPERVISOR_URL,
            adminToken: config.MERCATO_ADMIN_TOKEN,
          }),
        );
      },
      readiness: [
        {
          name: 'catalog',
          check: () =>
            fallbackClients()
              .catalog.client.listCategories({})
              .then(() => undefined),
        },
        {
          name: 'identity',
          check: () =>
            fallbackClients()
              .identity.client.getJwks({})
              .then(() => undefined),
        },
      ],
    };
  },
};
