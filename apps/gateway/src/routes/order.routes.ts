import { mayRead, notFound } from '@mercato/chassis';
import type { Shipment } from '@mercato/contracts/grpc/fulfillment';
import type { Order } from '@mercato/contracts/grpc/order';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import * as z from 'zod';
import type { Identification } from '../auth/identification.ts';
import type { Upstreams } from '../upstreams/upstreams.ts';
import { basket } from './cart.routes.ts';
import { minor, problem, problems } from './edge-schemas.ts';
import { requireOwnOrder } from './own-order.ts';

const tags = ['orders'];
const security = [{ bearer: [] }];

export const orderJson = z.object({
  order_id: z.string(),
  customer_id: z.string(),
  status: z.enum(['pending', 'confirmed', 'cancel_pending', 'cancelled', 'failed', 'shipped', 'delivered']),
  lines: z.array(z.object({ sku: z.string(), quantity: z.number(), unit_price_minor: z.number() })),
  total_minor: z.number(),
  currency: z.string(),
  shipping_address: z.string(),
  reason: z.string().nullable(),
  /** What the reason came from in detail, e.g. the carrier's `parcel_lost`. */
  reason_detail: z.string().nullable(),
  placed_at: z.string(),
  updated_at: z.string(),
  version: z.number(),
  saga: z
    .object({
      id: z.string(),
      status: z.string(),
      step: z.string().nullable(),
      reason: z.string().nullable(),
    })
    .nullable(),
});

export const toOrderJson = (order: Order | undefined): z.input<typeof orderJson> => ({
  order_id: order?.orderId ?? '',
  customer_id: order?.customerId ?? '',
  status: (order?.status ?? 'pending') as z.input<typeof orderJson>['status'],
  lines: (order?.lines ?? []).map((line) => ({
    sku: line.sku,
    quantity: line.quantity,
    unit_price_minor: minor(line.unitPriceMinor),
  })),
  total_minor: minor(order?.totalMinor ?? 0n),
  currency: order?.currency ?? '',
  shipping_address: order?.shippingAddress ?? '',
  reason: order?.reason || null,
  reason_detail: order?.reasonDetail || null,
  placed_at: order?.placedAt ?? '',
  updated_at: order?.updatedAt ?? '',
  version: order?.version ?? 0,
  saga: order?.saga
    ? {
        id: order.saga.sagaId,
        status: order.saga.status,
        step: order.saga.step || null,
        reason: order.saga.reason || null,
      }
    : null,
});

/** A basket to order: the cart's lines and where to ship them. */
export const shipmentJson = z.object({
  shipment_id: z.string(),
  order_id: z.string(),
  status: z.enum(['pending', 'picked', 'packed', 'dispatched', 'delivered', 'failed', 'held', 'cancelled']),
  lines: z.array(z.object({ sku: z.string(), quantity: z.number() })),
  shipping_address: z.string(),
  tracking_number: z.string().nullable(),
  /** Why it failed (the carrier's reason) or was cancelled. */
  reason: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  dispatched_at: z.string().nullable(),
  delivered_at: z.string().nullable(),
});

const toShipmentJson = (shipment: Shipment): z.input<typeof shipmentJson> => ({
  shipment_id: shipment.shipmentId,
  order_id: shipment.orderId,
  status: shipment.status as z.input<typeof shipmentJson>['status'],
  lines: shipment.lines.map((line) => ({ sku: line.sku, quantity: line.quantity })),
  shipping_address: shipment.shippingAddress,
  tracking_number: shipment.trackingNumber || null,
  reason: shipment.reason || null,
  created_at: shipment.createdAt,
  updated_at: shipment.updatedAt,
  dispatched_at: shipment.dispatchedAt || null,
  delivered_at: shipment.deliveredAt || null,
});

export const basketBody = basket.extend({ shipping_address: z.string().trim().min(1).max(500) });

export const idempotencyKeyHeader = z.object({
  'idempotency-key': z
    .string()
    .regex(/^[A-Za-z0-9_-]{8,64}$/, { error: 'expected 8 to 64 letters, digits, _ or -' })
    .meta({ description: 'Chosen by the client; a retry with the same key and body is the same order' }),
});

const orderId = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9_-]+$/),
});

/** CreateOrder for the signed-in customer; a replayed key is marked so on the answer. */
export async function placeOrderAtEdge(
  upstreams: Upstreams,
  identification: Identification,
  request: FastifyRequest & { headers: { 'idempotency-key': string } },
  body: z.output<typeof basketBody>,
  reply: FastifyReply,
) {
  const { userId } = await identification.requirePrincipal(request);
  const { order, created } = await upstreams.placement.run(
    () =>
      upstreams.for(request).order.client.createOrder({
        customerId: userId,
        idempotencyKey: request.headers['idempotency-key'],
        items: body.items,
        shippingAddress: body.shipping_address,
      }),
    (answer) => answer.headroom,
  );
  if (!created) void reply.header('idempotent-replayed', 'true');
  return reply.code(202).send(toOrderJson(order));
}

/**
 * Orders at the edge. The customer always comes from the verified token; an order of someone else
 * answers 404, as if it did not exist (its id says nothing to a stranger).
 */
export const orderEdgeRoutes =
  (upstreams: Upstreams, identification: Identification): FastifyPluginAsyncZod =>
  async (app) => {
    /** The order, if the caller may see it: its owner, or an admin. */
    const ownOrder = async (request: FastifyRequest, id: string, asOf = '') =>
      (await requireOwnOrder(upstreams, identification, request, id, asOf)).order;
    app.post(
      '/api/orders',
      {
        onRequest: upstreams.placement.shedEarly,
        schema: {
          tags,
          operationId: 'placeOrder',
          summary: 'Place an order: priced now, then confirmed or cancelled by the PlaceOrder saga',
          description:
            'Answers 202 at once with the pending order; poll GET /api/orders/{id} for its outcome. The same ' +
            'Idempotency-Key with the same body returns the same order; with another body 422; while the first ' +
            'request is still being handled 409.',
          security,
          headers: idempotencyKeyHeader,
          body: basketBody,
          response: { 202: orderJson, ...problems, 422: problem },
        },
      },
      (request, reply) => placeOrderAtEdge(upstreams, identification, request, request.body, reply),
    );

    app.get(
      '/api/orders/:id',
      {
        schema: {
          tags,
          operationId: 'getOrder',
          summary: 'One of my orders, now or as it stood at `as_of`',
          security,
          params: orderId,
          querystring: z.object({
            as_of: z.iso
              .datetime({ offset: true, error: 'expected an RFC 3339 timestamp' })
              .optional()
              .meta({ description: 'RFC 3339: the order as it stood then (replayed from its events)' }),
          }),
          response: { 200: orderJson, ...problems },
        },
      },
      async (request) => toOrderJson(await ownOrder(request, request.params.id, request.query.as_of ?? '')),
    );

    app.get(
      '/api/orders/:id/events',
      {
        schema: {
          tags,
          operationId: 'listOrderEvents',
          summary: "One of my orders' events, oldest first",
          security,
          params: orderId,
          response: {
            200: z.object({
              order_id: z.string(),
              events: z.array(
                z.object({
                  version: z.number(),
                  type: z.string(),
                  recorded_at: z.string(),
                  data: z.record(z.string(), z.unknown()),
                }),
              ),
            }),
            ...problems,
          },
        },
      },
      async (request) => {
        const { order, fromMonolith } = await requireOwnOrder(
          upstreams,
          identification,
          request,
          request.params.id,
        );
        // An order the monolith took has no event stream: it kept one status column, not a history.
        if (fromMonolith) return { order_id: order.orderId, events: [] };
        const { orderId: id, events } = await upstreams
          .for(request)
          .order.client.listOrderEvents({ orderId: request.params.id });
        return {
          order_id: id,
          events: events.map((event) => ({
            version: event.version,
            type: event.type,
            recorded_at: event.recordedAt,
            data: JSON.parse(event.dataJson) as Record<string, unknown>,
          })),
        };
      },
    );

    app.get(
      '/api/orders/:id/shipment',
      {
        schema: {
          tags,
          operationId: 'getOrderShipment',
          summary:
            "One of my orders' parcel: picked, packed, with the carrier (tracking), delivered or failed",
          security,
          params: orderId,
          response: { 200: shipmentJson, ...problems },
        },
      },
      async (request) => {
        const principal = await identification.requirePrincipal(request);
        const { shipment } = await upstreams
          .for(request)
          .fulfillment.client.getShipment({ orderId: request.params.id });
        // Someone else's parcel answers as if there were none, like their order.
        if (!shipment || !mayRead(principal, shipment.customerId))
          throw notFound('SHIPMENT.NOT_FOUND', `No shipment for order ${request.params.id}`);
        return toShipmentJson(shipment);
      },
    );

    app.post(
      '/api/orders/:id/cancel',
      {
        schema: {
          tags,
          operationId: 'cancelOrder',
          summary: 'Cancel one of my orders until it ships; what was done is undone (refund, stock back)',
          security,
          params: orderId,
          response: { 202: orderJson, ...problems },
        },
      },
      async (request, reply) => {
        await ownOrder(request, request.params.id);
        const { order } = await upstreams
          .for(request)
          .order.client.cancelOrder({ orderId: request.params.id });
        return reply.code(202).send(toOrderJson(order));
      },
    );
  };
