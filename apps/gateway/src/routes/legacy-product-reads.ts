import { AppError, AsyncExperiment, type Logger, notFound, type ReportingExperiment } from '@mercato/chassis';
import { legacyProductId } from '@mercato/contracts';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Registry } from 'prom-client';
import * as z from 'zod';
import type { Identification } from '../auth/identification.ts';
import type { UpstreamClients, Upstreams } from '../upstreams/upstreams.ts';
import { problems } from './edge-schemas.ts';
import { IN_FLIGHT_MS, legacyIdParams, readMonolith, requireOperator } from './legacy-edge.ts';
import {
  inFlight,
  inMonolithShape,
  type LegacyProduct,
  legacyProduct,
  monolithProductKey,
} from './legacy-product-shape.ts';

/** The most catalog lists, pricing quotes and inventory reads at once. */
const PAGE = 100;
const LEGACY_CATEGORY = 'legacy';
const legacyProductList = z.object({ items: z.array(legacyProduct) });

const BAD_ANSWER = "the monolith's products were not what the gateway reads";

/**
 * The services' answer for products of the monolith (`prd_legacy_<id>` in catalog), composed in
 * the monolith's shape: catalog's product, pricing's list price and inventory's level of its SKU,
 * asked once per hundred (a quote of one unit of each; its subtotal is the list price, before
 * discounts, as the monolith shows it).
 */
async function composed(
  clients: UpstreamClients,
  products: Array<{ id: string; sku: string; name: string; updatedAt: string }>,
): Promise<LegacyProduct[]> {
  if (products.length === 0) return [];
  const skus = [...new Set(products.map((product) => product.sku))];
  const [quote, levels] = await Promise.all([
    clients.pricing.client.calculateQuote({
      items: skus.map((sku) => ({ sku, quantity: 1 })),
      customerId: '',
    }),
    clients.inventory.client.getStockLevels({ skus }),
  ]);
  const prices = new Map(quote.lines.map((line) => [line.sku, Number(line.unitPriceMinor)]));
  const available = new Map(levels.stocks.map((level) => [level.sku, level.available]));
  return products.map((product) => {
    const priceMinor = prices.get(product.sku);
    if (priceMinor === undefined)
      throw new AppError({
        code: 'LEGACY.NOT_PRICED',
        kind: 'bad_gateway',
        message: `pricing has no price for ${product.sku}`,
      });
    return inMonolithShape({ product, priceMinor, available: available.get(product.sku) ?? 0 });
  });
}

async function oneFromServices(
  upstreams: Upstreams,
  request: FastifyRequest,
  id: number,
): Promise<LegacyProduct> {
  const clients = upstreams.for(request);
  const { product } = await clients.catalog.client
    .getProduct({ id: legacyProductId(String(id)) })
    .catch((error: unknown) => {
      if ((error as { kind?: string }).kind === 'not_found') return { product: undefined };
      throw error;
    });
  if (!product) throw notFound('LEGACY.NOT_FOUND', `Product ${id} does not exist`);
  const [shaped] = await composed(clients, [product]);
  return shaped as LegacyProduct;
}

/** Every product of the monolith the catalog holds, in the monolith's order (by id). */
async function allFromServices(upstreams: Upstreams, request: FastifyRequest): Promise<LegacyProduct[]> {
  const clients = upstreams.for(request);
  const pages: LegacyProduct[][] = [];
  for (let page = 1; ; page += 1) {
    const listed = await clients.catalog.client.listProducts({
      categorySlug: LEGACY_CATEGORY,
      page,
      pageSize: PAGE,
    });
    // The category is the monolith's products'; anything else filed there is not one of them.
    const ofMonolith = listed.products.filter((product) => monolithProductKey(product.id) !== undefined);
    pages.push(await composed(clients, ofMonolith));
    if (page * PAGE >= listed.total || listed.products.length === 0) break;
  }
  return pages.flat().sort((a, b) => a.id - b.id);
}

interface Read {
  request: FastifyRequest;
}

/**
 * Phase 3 of the strangler fig for the catalog, a capability the monolith only reads (its products
 * were edited in its back office): `GET /legacy/api/products/:id` and `GET /legacy/api/products`
 * answered by the monolith (control), by both with the services compared (shadow), or by the
 * services — catalog, pricing and inventory composed — for a share of products (candidate; the
 * whole list only at 100 %). The routes that match the paths say which, as for customer reads; a
 * route that proxies them (phase 1) never reaches these handlers.
 */
export function legacyProductReads(
  upstreams: Upstreams,
  identification: Identification,
  settings: { registry: Registry; logger: Logger },
): { routes: FastifyPluginAsyncZod; experiments: ReportingExperiment[] } {
  const one = new AsyncExperiment<Read & { id: number }, LegacyProduct>({
    name: 'legacy-product-reads',
    control: ({ request, id }) =>
      readMonolith(upstreams, request, `/api/products/${id}`, legacyProduct, BAD_ANSWER),
    candidate: ({ request, id }) => oneFromServices(upstreams, request, id),
    registry: settings.registry,
    logger: settings.logger,
    describeInput: ({ id }) => ({ id }),
    ignore: (monolith, services) => inFlight(monolith, services, IN_FLIGHT_MS),
  });
  const list = new AsyncExperiment<Read, LegacyProduct[]>({
    name: 'legacy-product-list',
    control: ({ request }) =>
      readMonolith(upstreams, request, '/api/products', legacyProductList, BAD_ANSWER).then(
        (answer) => answer.items,
      ),
    candidate: ({ request }) => allFromServices(upstreams, request),
    registry: settings.registry,
    logger: settings.logger,
    describeInput: () => ({}),
    ignore: (monolith, services) =>
      monolith.length === services.length &&
      monolith.every((product, index) => inFlight(product, services[index] as LegacyProduct, IN_FLIGHT_MS)),
  });
  const tags = ['legacy'];
  const routes: FastifyPluginAsyncZod = async (app) => {
    app.get(
      '/legacy/api/products',
      {
        schema: {
          tags,
          summary:
            "The monolith's products, answered by the monolith or the services (the route's experiment)",
          security: [{ bearer: [] }],
          response: { 200: legacyProductList, ...problems },
        },
      },
      async (request) => {
        await requireOperator(identification, request);
        const run = request.gatewayRoute.experiment ?? { mode: 'control', candidatePercent: 0 };
        return { items: await list.run({ request }, run) };
      },
    );
    app.get(
      '/legacy/api/products/:id',
      {
        schema: {
          tags,
          summary:
            "A product of the monolith, answered by the monolith or the services (the route's experiment)",
          security: [{ bearer: [] }],
          params: legacyIdParams,
          response: { 200: legacyProduct, ...problems },
        },
      },
      async (request) => {
        await requireOperator(identification, request);
        const id = Number(request.params.id);
        const run = request.gatewayRoute.experiment ?? { mode: 'control', candidatePercent: 0 };
        return one.run({ request, id }, { ...run, subject: String(id) });
      },
    );
  };
  return { routes, experiments: [one, list] };
}
