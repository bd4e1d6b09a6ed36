import type { StockLevel } from '@mercato/contracts/grpc/inventory';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import * as z from 'zod';
import type { Identification } from '../auth/identification.ts';
import type { LiveStreams } from '../streams/live-streams.ts';
import type { Upstreams } from '../upstreams/upstreams.ts';
import { problems, skuParam } from './edge-schemas.ts';
import { beginEventStream, finishEventStream, writeEvent } from './event-stream.ts';

const stock = z.object({
  sku: z.string(),
  available: z.number(),
  reserved: z.number(),
  warehouses: z.array(z.object({ warehouse_id: z.string(), available: z.number(), reserved: z.number() })),
});

export const toStockJson = (level: StockLevel | undefined) => ({
  sku: level?.sku ?? '',
  available: level?.available ?? 0,
  reserved: level?.reserved ?? 0,
  warehouses: (level?.warehouses ?? []).map((w) => ({
    warehouse_id: w.warehouseId,
    available: w.available,
    reserved: w.reserved,
  })),
});

/** Stock levels, once or live as Server-Sent Events from inventory's server stream. */
export const inventoryEdgeRoutes =
  (upstreams: Upstreams, identification: Identification, streams: LiveStreams): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/api/inventory/stock/:sku',
      {
        schema: {
          tags: ['inventory'],
          summary: 'Stock of one SKU per warehouse',
          params: skuParam,
          response: { 200: stock, ...problems },
        },
      },
      async (request) =>
        toStockJson(
          (await upstreams.for(request).inventory.client.getStock({ sku: request.params.sku })).stock,
        ),
    );

    app.get(
      '/api/inventory/stock/:sku/live',
      {
        schema: {
          tags: ['inventory'],
          summary: 'Stock of one SKU as Server-Sent Events: the current level, then every change',
          params: skuParam,
        },
      },
      async (request, reply) => {
        // Public, so counted per address unless the caller signed in.
        const live = streams.open(request, await identification.principal(request));
        const { signal } = live;
        const iterator = upstreams
          .for(request)
          .inventory.client.streamStockLevels({ skus: [request.params.sku] }, { signal })
          [Symbol.asyncIterator]();
        let first: IteratorResult<{ stock?: StockLevel | undefined }>;
        try {
          // Read the first level before answering, so an unknown SKU is a plain 404.
          first = await iterator.next();
        } catch (error) {
          live.close();
          throw error;
        }
        beginEventStream(reply);
        const send = (level: StockLevel | undefined) =>
          writeEvent(reply, `event: stock\ndata: ${JSON.stringify(toStockJson(level))}\n\n`);
        try {
          if (!first.done) send(first.value.stock);
          for (let next = await iterator.next(); !next.done; next = await iterator.next())
            send(next.value.stock);
        } catch (error) {
          if (!signal.aborted) request.log.warn({ err: error }, 'stock stream ended with an error');
        } finally {
          finishEventStream(reply, live);
        }
      },
    );
  };
