import type { MessageInitShape } from '@bufbuild/protobuf';
import type { ConnectRouter } from '@connectrpc/connect';
import {
  AppError,
  currentRequestContext,
  mayActFor,
  newId,
  notFound,
  parseRequest,
  usersChecked,
} from '@mercato/chassis';
import { parseOrderLogPosition, parseOrderStreamVersion } from '@mercato/contracts';
import { type OrderSchema, OrderService } from '@mercato/contracts/grpc/order';
import * as z from 'zod';
import type { Orders, OrderView } from '../../application/orders.ts';
import type { OrderChangeFeed } from './order-change-feed.ts';
import type { PlacementLimit } from './placement-limit.ts';

const orderId = z.string().trim().min(1).max(64);
const createRequest = z.object({
  customerId: z.string().trim().min(1).max(128),
  idempotencyKey: z.string().trim().min(1).max(128),
  items: z
    .array(z.object({ sku: z.string().trim().min(1).max(32), quantity: z.number().int().min(1).max(1_000) }))
    .min(1)
    .max(100),
  shippingAddress: z.string().trim().min(1).max(500),
});
const getRequest = z.object({
  orderId,
  asOf: z.string().refine((value) => value === '' || !Number.isNaN(Date.parse(value)), {
    error: 'expected an RFC 3339 timestamp',
  }),
});
const byOrder = z.object({ orderId });

type OrderInit = MessageInitShape<typeof OrderSchema>;

export const toOrderMessage = ({ order, version, saga }: OrderView): OrderInit => ({
  orderId: order.id,
  customerId: order.customerId,
  status: order.status,
  lines: order.lines.map((line) => ({
    sku: line.sku,
    quantity: line.quantity,
    unitPriceMinor: BigInt(line.unitPriceMinor),
  })),
  totalMinor: BigInt(order.totalMinor),
  currency: order.currency,
  shippingAddress: order.shippingAddress,
  reservationId: order.reservationId ?? '',
  paymentId: order.paymentId ?? '',
  reason: order.reason ?? '',
  reasonDetail: order.reasonDetail ?? '',
  placedAt: order.placedAt.toISOString(),
  updatedAt: order.updatedAt.toISOString(),
  version,
  ...(saga
    ? {
        saga: {
          sagaId: saga.state.sagaId,
          status: saga.state.status,
          step: saga.waitingOn ?? '',
          reason: saga.state.reason ?? '',
        },
      }
    : {}),
});

const correlationId = () => currentRequestContext()?.correlationId ?? newId('corr');

/**
 * Another customer's order looks like no order at all (as at the edge): under a call policy a caller
 * reads an order only with its customer's token (or an admin's), or as a caller the policy lets act
 * for no user on that method (`mayActFor`).
 */
const ownOrder = (customerId: string, orderId: string) => {
  if (!mayActFor(customerId)) throw notFound('ORDER.NOT_FOUND', `No order ${orderId}`);
};

const streamRequest = z
  .object({
    orderId: z.string().trim().max(64),
    customerId: z.string().trim().max(128),
    after: z.string().max(64),
  })
  .refine((request) => (request.orderId === '') !== (request.customerId === ''), {
    error: 'expected exactly one of order_id and customer_id',
    path: ['order_id'],
  })
  // In range too: a value the log could not hold is the caller's mistake, not a database error.
  .refine(
    (request) =>
      request.after === '' ||
      (request.orderId
        ? parseOrderStreamVersion(request.after) !== undefined
        : parseOrderLogPosition(request.after) !== undefined),
    { error: 'expected the resume_after of a change of this stream', path: ['after'] },
  );

export const orderGrpc =
  (orders: Orders, feed: OrderChangeFeed, stopping: AbortSignal, placement?: PlacementLimit) =>
  (router: ConnectRouter) =>
    router.service(OrderService, {
      async createOrder(request) {
        const input = parseRequest(createRequest, request);
        if (!mayActFor(input.customerId))
          throw new AppError({
            code: 'ORDER.NOT_YOUR_CUSTOMER',
            kind: 'forbidden',
            message: 'An order is placed for the customer whose token the call carries',
          });
        const create = () => orders.create(input, correlationId());
        // Only a new order still pending is work in progress that the placement limit counts.
        const view = placement
          ? await placement.admit(create, (created) =>
              created.created && created.order.status === 'pending' ? created.order.id : undefined,
            )
          : await create();
        return {
          order: toOrderMessage(view),
          created: view.created,
          ...(placement ? { headroom: placement.headroom() } : {}),
        };
      },
      async getOrder(request) {
        const query = parseRequest(getRequest, request);
        const view = await orders.get(query.orderId, query.asOf ? new Date(query.asOf) : undefined);
        ownOrder(view.order.customerId, query.orderId);
        return { order: toOrderMessage(view) };
      },
      async listOrderEvents(request) {
        const { orderId: id } = parseRequest(byOrder, request);
        const { order, events } = await orders.events(id);
        ownOrder(order.customerId, id);
        return {
          orderId: order.id,
          customerId: order.customerId,
          events: events.map((recorded) => {
            const { type, at, ...data } = recorded.event;
            return {
              version: recorded.version,
              type,
              recordedAt: recorded.recordedAt.toISOString(),
              dataJson: JSON.stringify({ ...data, at: at.toISOString() }),
              globalPosition: recorded.globalPosition,
            };
          }),
        };
      },
      async cancelOrder(request) {
        const { orderId: id } = parseRequest(byOrder, request);
        if (usersChecked()) ownOrder((await orders.get(id)).order.customerId, id);
        return { order: toOrderMessage(await orders.cancel(id, correlationId())) };
      },
      async *streamOrders(request, context) {
        const query = parseRequest(streamRequest, request);
        const signal = AbortSignal.any([context.signal, stopping]);
        if (query.orderId && usersChecked())
          ownOrder((await orders.get(query.orderId)).order.customerId, query.orderId);
        if (query.customerId && !mayActFor(query.customerId))
          throw new AppError({
            code: 'ORDER.NOT_YOUR_CUSTOMER',
            kind: 'forbidden',
            message: "Only a customer's own token (or an admin's) follows their orders",
          });
        if (query.orderId) {
          const after = parseOrderStreamVersion(query.after) ?? 0;
          for await (const change of feed.forOrder(query.orderId, after, signal)) yield { change };
          return;
        }
        // First where it starts, so a client can resume from there even before any change comes.
        yield* feed.forCustomer(query.customerId, parseOrderLogPosition(query.after), signal);
      },
    });
