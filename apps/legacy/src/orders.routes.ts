import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import * as z from 'zod';
import type { LegacyOrders } from './legacy-orders.ts';
import { idParams, legacyId, newOrderBody, orderSchema } from './legacy-schemas.ts';
import { orderStatuses } from './order-status.ts';

const tags = ['orders'];
/** Orders one back-office request lists or moves. */
const MAX_BATCH = 1_000;

/** Placing orders and moving them along, each in one transaction. */
export const orderRoutes =
  (orders: LegacyOrders): FastifyPluginAsyncZod =>
  async (app) => {
    app.post(
      '/orders',
      {
        schema: {
          tags,
          summary: 'Place an order (409 LEGACY.OUT_OF_STOCK when any line is short)',
          body: newOrderBody,
          response: { 201: orderSchema },
        },
      },
      async ({ body }, reply) => {
        const order = await orders.place(body);
        return reply.code(201).header('location', `/api/orders/${order.id}`).send(order);
      },
    );

    app.get(
      '/orders',
      {
        schema: {
          tags,
          summary: "The ids of orders in one status, in id order (the back office's work list)",
          querystring: z.object({
            status: z.enum(orderStatuses),
            after: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
            limit: z.coerce.number().int().min(1).max(MAX_BATCH).default(100),
          }),
          response: { 200: z.object({ ids: z.array(z.number()) }) },
        },
      },
      async ({ query }) => ({ ids: await orders.idsIn(query.status, query.after, query.limit) }),
    );

    app.post(
      '/orders/statuses',
      {
        schema: {
          tags,
          summary:
            'Move many orders one step to one status in one transaction (the back office finishing them); one that cannot move fails all (409 LEGACY.BAD_TRANSITION, 404)',
          body: z.object({
            status: z.enum(orderStatuses),
            ids: z
              .array(legacyId)
              .min(1)
              .max(MAX_BATCH)
              .refine((ids) => new Set(ids).size === ids.length, {
                error: 'each id once',
              }),
          }),
          response: { 200: z.object({ moved: z.number() }) },
        },
      },
      async ({ body }) => ({ moved: await orders.moveMany(body.ids, body.status) }),
    );

    app.get(
      '/orders/:id',
      {
        schema: {
          tags,
          summary: 'An order with its lines',
          params: idParams,
          response: { 200: orderSchema },
        },
      },
      async ({ params }) => orders.find(params.id),
    );

    app.post(
      '/orders/:id/status',
      {
        schema: {
          tags,
          summary: 'Move an order along (409 LEGACY.BAD_TRANSITION); cancelling puts its stock back',
          params: idParams,
          body: z.object({ status: z.enum(orderStatuses) }),
          response: { 200: orderSchema },
        },
      },
      async ({ params, body }) => orders.move(params.id, body.status),
    );
  };
