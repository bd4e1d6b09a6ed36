import type { Product } from '@mercato/contracts/grpc/catalog';
import type { CalculateQuoteResponse } from '@mercato/contracts/grpc/pricing';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import * as z from 'zod';
import type { Identification } from '../auth/identification.ts';
import { composeParts } from '../composition/compose-parts.ts';
import type { UpstreamClients, Upstreams } from '../upstreams/upstreams.ts';
import { basket, quote, toQuoteJson } from './cart.routes.ts';
import { listQuery, product, toProductJson } from './catalog.routes.ts';
import { degraded, idParam, minor, problem, problems } from './edge-schemas.ts';
import { basketBody, idempotencyKeyHeader, orderJson, placeOrderAtEdge } from './order.routes.ts';

const price = z.object({
  currency: z.string(),
  unit_price_minor: z.number(),
  /** What one costs this customer after the best discount. */
  price_minor: z.number(),
  discounts: z.array(z.string()),
});
const availability = z.object({ available: z.number(), in_stock: z.boolean() });
const productCard = product.extend({ price: price.nullable(), stock: availability.nullable() });

type Price = z.infer<typeof price>;
type Availability = z.infer<typeof availability>;

const pricesFrom = (result: CalculateQuoteResponse): Map<string, Price> =>
  new Map(
    result.lines.map((line) => [
      line.sku,
      {
        currency: result.currency,
        unit_price_minor: minor(line.unitPriceMinor),
        price_minor: minor(line.totalMinor),
        discounts: line.discounts.map((d) => d.description),
      },
    ]),
  );

/**
 * Prices (for this customer) and stock for a set of products, fetched in parallel; either part
 * may come back degraded, the products never do.
 */
async function decorate(
  clients: UpstreamClients,
  products: Product[],
  customerId: string,
  timeoutMs: number,
) {
  const skus = [...new Set(products.map((p) => p.sku))];
  if (skus.length === 0) return { cards: [], degraded: [] };
  const { values, degraded: failed } = await composeParts(
    {
      prices: async (signal) =>
        pricesFrom(
          await clients.pricing.client.calculateQuote(
            { items: skus.map((sku) => ({ sku, quantity: 1 })), customerId },
            { signal, timeoutMs },
          ),
        ),
      stock: async (signal) => {
        const { stocks } = await clients.inventory.client.getStockLevels({ skus }, { signal, timeoutMs });
        return new Map<string, Availability>(
          stocks.map((s) => [s.sku, { available: s.available, in_stock: s.available > 0 }]),
        );
      },
    },
    timeoutMs,
  );
  const cards = products.map((p) => ({
    ...toProductJson(p),
    price: values.prices?.get(p.sku) ?? null,
    stock: values.stock?.get(p.sku) ?? (values.stock ? { available: 0, in_stock: false } : null),
  }));
  return { cards, degraded: failed };
}

/**
 * Backend-for-frontend routes shaped for the web storefront: one call per screen. Signed-in
 * shoppers see their own prices (segment discounts).
 */
export const storefrontEdgeRoutes =
  (upstreams: Upstreams, identification: Identification, partTimeoutMs: number): FastifyPluginAsyncZod =>
  async (app) => {
    const tags = ['storefront'];

    app.get(
      '/api/storefront/products',
      {
        schema: {
          tags,
          summary: 'A catalog page with each product’s price and stock',
          querystring: listQuery,
          response: {
            200: z.object({
              items: z.array(productCard),
              page: z.number(),
              page_size: z.number(),
              total: z.number(),
              degraded,
            }),
            ...problems,
          },
        },
      },
      async (request) => {
        const { query } = request;
        const clients = upstreams.for(request);
        const customerId = (await identification.principal(request))?.userId ?? '';
        const page = { page: query.page, pageSize: query.page_size };
        const result = query.q
          ? await clients.catalog.client.searchProducts({ query: query.q, ...page })
          : await clients.catalog.client.listProducts({ categorySlug: query.category ?? '', ...page });
        const { cards, degraded: failed } = await decorate(
          clients,
          result.products,
          customerId,
          partTimeoutMs,
        );
        return {
          items: cards,
          page: result.page,
          page_size: result.pageSize,
          total: result.total,
          degraded: failed,
        };
      },
    );

    app.get(
      '/api/storefront/products/:id',
      {
        schema: {
          tags,
          summary: 'A product page: the product with its price and stock',
          params: idParam,
          response: { 200: productCard.extend({ degraded }), ...problems },
        },
      },
      async (request) => {
        const clients = upstreams.for(request);
        const customerId = (await identification.principal(request))?.userId ?? '';
        const { product: found } = await clients.catalog.client.getProduct({ id: request.params.id });
        if (!found) throw new Error('catalog answered GetProduct without a product');
        const { cards, degraded: failed } = await decorate(clients, [found], customerId, partTimeoutMs);
        const [card] = cards;
        if (!card) throw new Error('decorating one product gave no card');
        return { ...card, degraded: failed };
      },
    );

    app.post(
      '/api/storefront/cart',
      {
        schema: {
          tags,
          summary: 'The cart screen: the priced basket and whether each line is in stock',
          body: basket,
          response: {
            200: z.object({
              quote,
              lines: z
                .array(
                  z.object({
                    sku: z.string(),
                    quantity: z.number(),
                    available: z.number(),
                    in_stock: z.boolean(),
                  }),
                )
                .nullable(),
              degraded,
            }),
            ...problems,
          },
        },
      },
      async (request) => {
        const clients = upstreams.for(request);
        const customerId = (await identification.principal(request))?.userId ?? '';
        const { items } = request.body;
        const skus = [...new Set(items.map((item) => item.sku))];
        const [priced, stock] = await Promise.all([
          clients.pricing.client.calculateQuote({ items, customerId }),
          composeParts(
            {
              stock: async (signal) =>
                (
                  await clients.inventory.client.getStockLevels(
                    { skus },
                    { signal, timeoutMs: partTimeoutMs },
                  )
                ).stocks,
            },
            partTimeoutMs,
          ),
        ]);
        const levels = stock.values.stock;
        return {
          quote: toQuoteJson(priced),
          lines: levels
            ? items.map((item) => {
                const available = levels.find((level) => level.sku === item.sku)?.available ?? 0;
                return {
                  sku: item.sku,
                  quantity: item.quantity,
                  available,
                  in_stock: available >= item.quantity,
                };
              })
            : null,
          degraded: stock.degraded,
        };
      },
    );

    app.post(
      '/api/storefront/checkout',
      {
        onRequest: upstreams.placement.shedEarly,
        schema: {
          tags,
          operationId: 'checkOut',
          summary:
            'Check out the basket: hands it to the order service (CreateOrder), whose PlaceOrder saga reserves the stock and takes the payment; idempotent per Idempotency-Key',
          security: [{ bearer: [] }],
          headers: idempotencyKeyHeader,
          body: basketBody,
          response: { 202: orderJson, ...problems, 422: problem },
        },
      },
      (request, reply) => placeOrderAtEdge(upstreams, identification, request, request.body, reply),
    );
  };
