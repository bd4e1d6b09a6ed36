import type { ServiceDefinition } from '@mercato/chassis';
import { type GatewayConfig, gatewayConfig } from './config.ts';
import { catalogEdgeRoutes } from './routes/catalog.routes.ts';
import { HttpUpstream } from './upstreams/http-upstream.ts';

/** The gateway service as the chassis builds it; `main.ts` runs it, component tests create it. */
export const gatewayDefinition: ServiceDefinition<GatewayConfig> = {
  name: 'gateway',
  config: gatewayConfig,
  docs: { title: 'Mercato API', description: 'The public edge of the Mercato shop' },
  setup({ config }) {
    const catalog = new HttpUpstream('catalog', config.CATALOG_URL, config.UPSTREAM_TIMEOUT_MS);
    return {
      routes: catalogEdgeRoutes(catalog),
      readiness: [{ name: 'catalog', check: () => catalog.ready() }],
      onClose: () => catalog.close(),
    };
  },
};
