import { createHash } from 'node:crypto';
import {
  AppError,
  conflict,
  newId,
  notFound,
  type SagaRecord,
  type SagaRunner,
  type Transaction,
} from '@mercato/chassis';
import { evolve, type Order, placeOrder } from '../domain/order.ts';
import type { OrderEvent } from '../domain/order-events.ts';
import { orderMessages } from './order-messages.ts';
import type { OrderRequests, PriceQuotes } from './order-ports.ts';
import type { OrderRepository, RecordedOrderEvent } from './order-repository.port.ts';
import { cancelOrderSagaId, type OrderSagaData, placeOrderSagaId } from './order-sagas.ts';

export interface CreateOrderInput {
  customerId: string;
  idempotencyKey: string;
  items: { sku: string; quantity: number }[];
  shippingAddress: string;
}

export interface OrderView {
  order: Order;
  version: number;
  saga: SagaRecord<OrderSagaData> | undefined;
}

export interface OrdersDeps {
  orders: OrderRepository;
  requests: OrderRequests;
  quotes: PriceQuotes;
  placeSaga: SagaRunner<OrderSagaData>;
  cancelSaga: SagaRunner<OrderSagaData>;
  transact: <T>(work: (transaction: Transaction) => Promise<T>) => Promise<T>;
  now: () => Date;
}

const requestHash = (input: CreateOrderInput) =>
  createHash('sha256')
    .update(JSON.stringify({ items: input.items, shipping_address: input.shippingAddress }))
    .digest('hex');

/** The order service's use cases. */
export class Orders {
  readonly #deps: OrdersDeps;

  constructor(deps: OrdersDeps) {
    this.#deps = deps;
  }

  /**
   * Prices the basket, stores the order pending with its OrderPlaced event, the order.created event
   * and the saga's first command in one transaction, and returns at once. Idempotent per
   * (customer, key): the same basket returns the same order; another basket is refused (422); a
   * duplicate while the first is still running is told so (409).
   */
  async create(input: CreateOrderInput, correlationId: string): Promise<OrderView & { created: boolean }> {
    const { requests } = this.#deps;
    const claim = await requests.claim(
      input.customerId,
      input.idempotencyKey,
      requestHash(input),
      newId('ord'),
    );
    if (claim.outcome === 'mismatch')
      throw new AppError({
        code: 'ORDER.IDEMPOTENCY_KEY_REUSED',
        kind: 'unprocessable',
        message: 'This Idempotency-Key was used for a different order; use a new key for a new order',
      });
    if (claim.outcome === 'in_flight')
      throw new AppError({
        code: 'ORDER.REQUEST_IN_FLIGHT',
        kind: 'conflict',
        message: 'An order with this Idempotency-Key is still being placed; retry shortly',
        retryable: true,
      });
    if (claim.outcome === 'done') return { ...(await this.get(claim.orderId)), created: false };
    try {
      const view = await this.#place(claim.orderId, input, correlationId);
      return { ...view, created: true };
    } catch (error) {
      await requests.abandon(input.customerId, input.idempotencyKey).catch(() => undefined);
      throw error;
    }
  }

  async get(orderId: string, asOf?: Date): Promise<OrderView> {
    const { order, version } = await this.#deps.orders.load(orderId, asOf ? { asOf } : {});
    if (!order)
      throw notFound('ORDER.NOT_FOUND', `No order ${orderId}${asOf ? ` as of ${asOf.toISOString()}` : ''}`);
    return { order, version, saga: await this.#sagaOf(order) };
  }

  async events(orderId: string): Promise<{ order: Order; events: RecordedOrderEvent[] }> {
    const { order } = await this.get(orderId);
    return { order, events: await this.#deps.orders.events(orderId) };
  }

  /**
   * Cancels an order until it ships. A pending order's saga is stopped and compensates what it did
   * (the order is cancelled when it has); a confirmed order gets a cancellation saga (refund, stock
   * back). Cancelling a cancelled order, or one being cancelled, is no change.
   */
  async cancel(orderId: string, correlationId: string): Promise<OrderView> {
    const { order } = await this.get(orderId);
    switch (order.status) {
      case 'cancelled':
        break;
      case 'pending':
        await this.#deps.placeSaga.abort(placeOrderSagaId(orderId), 'customer_request');
        break;
      case 'confirmed':
        // Once per order: a repeated or concurrent cancel finds the saga already started.
        await this.#deps.transact((transaction) =>
          this.#deps.cancelSaga.begin(
            transaction,
            cancelOrderSagaId(orderId),
            sagaData(order),
            correlationId,
          ),
        );
        break;
      default:
        throw conflict(
          'ORDER.NOT_CANCELLABLE',
          `Order ${orderId} is ${order.status} and can no longer be cancelled`,
          { order_status: order.status },
        );
    }
    return this.get(orderId);
  }

  async #place(orderId: string, input: CreateOrderInput, correlationId: string): Promise<OrderView> {
    const priced = await this.#deps.quotes.quote(input.items, input.customerId);
    const placed = placeOrder(
      {
        orderId,
        customerId: input.customerId,
        lines: priced.lines,
        currency: priced.currency,
        shippingAddress: input.shippingAddress,
        discountMinor: priced.discountMinor,
      },
      this.#deps.now(),
    );
    if (!placed.ok)
      throw new AppError({
        code: 'ORDER.INVALID',
        kind: 'validation',
        message: `The order cannot be placed: ${placed.error.reason}`,
        details: { ...placed.error },
      });
    const events: OrderEvent[] = [placed.value];
    const order = evolve(undefined, placed.value) as Order;
    return this.#deps.transact(async (transaction) => {
      const version = await this.#deps.orders.append(
        transaction,
        orderId,
        0,
        events,
        orderMessages(order, events, correlationId),
      );
      const saga = await this.#deps.placeSaga.begin(
        transaction,
        placeOrderSagaId(orderId),
        sagaData(order),
        correlationId,
      );
      await this.#deps.requests.complete(transaction, input.customerId, input.idempotencyKey);
      return {
        order,
        version,
        saga: {
          state: saga,
          type: 'place-order',
          createdAt: order.placedAt,
          updatedAt: order.placedAt,
          waitingOn: null,
        },
      };
    });
  }

  async #sagaOf(order: Order): Promise<SagaRecord<OrderSagaData> | undefined> {
    const cancelling = await this.#deps.cancelSaga.get(cancelOrderSagaId(order.id));
    return cancelling ?? (await this.#deps.placeSaga.get(placeOrderSagaId(order.id)));
  }
}

const sagaData = (order: Order): OrderSagaData => ({
  orderId: order.id,
  customerId: order.customerId,
  lines: order.lines.map((line) => ({ sku: line.sku, quantity: line.quantity })),
  totalMinor: order.totalMinor,
  currency: order.currency,
  reservationId: order.reservationId ?? `res_${order.id}`,
  ...(order.paymentId ? { paymentId: order.paymentId } : {}),
});
