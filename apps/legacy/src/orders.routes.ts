import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { LegacyOrders } from './legacy-orders.ts';
import { idParams, newOrderBody, orderSchema } from './legacy-schemas.ts';
import { orderStatuses } from './order-status.ts';

const tags = ['orders'];

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
