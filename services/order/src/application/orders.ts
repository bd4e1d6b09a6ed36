import { createHash } from 'node:crypto';
import {
  AppError,
  conflict,
  isAppError,
  newId,
  notFound,
  type SagaRecord,
  type SagaRunner,
  type Transaction,
} from '@mercato/chassis';
import { evolve, type Order, placeOrder, requestCancel } from '../domain/order.ts';
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
   * Cancels an order until it ships; the answer says what became of the request, never nothing.
   * The order goes `cancel_pending` (a semantic lock) in the transaction that decides, under the
   * PlaceOrder saga's row lock, so no reply can confirm or cancel the order meanwhile:
   * - pending, its saga before the pivot: the saga is aborted and compensates what it did;
   * - pending, its saga committing the stock (the pivot): 409 `ORDER.CANCEL_NOT_YET`, retryable in a
   *   moment, when the order is confirmed;
   * - confirmed: a cancellation saga of its own (hold the parcel → refund → stock back);
   * - being cancelled, or cancelled: no change (the answer shows which);
   * - shipped, delivered or failed: 409 `ORDER.NOT_CANCELLABLE`.
   */
  async cancel(orderId: string, correlationId: string): Promise<OrderView> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.#deps.transact((transaction) => this.#requestCancel(transaction, orderId, correlationId));
        return this.get(orderId);
      } catch (error) {
        // A shipment event appended to the order meanwhile: decide again on the order as it is now.
        if (attempt < 3 && isAppError(error) && error.code === 'EVENTS.CONCURRENCY_CONFLICT') continue;
        throw error;
      }
    }
  }

  async #requestCancel(transaction: Transaction, orderId: string, correlationId: string): Promise<void> {
    const { placeSaga, cancelSaga, orders } = this.#deps;
    // First the PlaceOrder saga's row: while this transaction holds it, the saga cannot move.
    const place = await placeSaga.lock(transaction, placeOrderSagaId(orderId));
    const { order, version } = await orders.load(orderId, { transaction });
    if (!order) throw notFound('ORDER.NOT_FOUND', `No order ${orderId}`);
    const decided = requestCancel(order, this.#deps.now());
    if (!decided.ok)
      throw conflict(
        'ORDER.NOT_CANCELLABLE',
        `Order ${orderId} is ${order.status} and can no longer be cancelled`,
        { order_status: order.status },
      );
    if (decided.value.length === 0) return;
    let after = order;
    for (const event of decided.value) after = evolve(after, event) as Order;
    await orders.append(
      transaction,
      orderId,
      version,
      decided.value,
      orderMessages(after, decided.value, correlationId),
    );
    if (order.status === 'confirmed') {
      await cancelSaga.begin(
        transaction,
        cancelOrderSagaId(orderId, after.cancelAttempts),
        sagaData(order),
        correlationId,
      );
      return;
    }
    // Pending: a saga compensating already ends the order cancelled; one still going forward is
    // stopped, unless it has reached its pivot (then the order is about to be confirmed).
    if (place?.status === 'compensating') return;
    const aborted = await placeSaga.abortIn(transaction, placeOrderSagaId(orderId), 'customer_request');
    if (aborted === 'applied') return;
    throw new AppError({
      code: 'ORDER.CANCEL_NOT_YET',
      kind: 'conflict',
      message: `Order ${orderId} is being confirmed (its stock is being committed); cancel it again in a moment`,
      retryable: true,
      retryAfterSeconds: 1,
      details: { order_status: order.status, saga_status: place?.status ?? null },
    });
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
          timerFailures: 0,
          timerError: null,
        },
      };
    });
  }

  /** The saga that says what is happening to the order: its latest cancellation's, else PlaceOrder's. */
  async #sagaOf(order: Order): Promise<SagaRecord<OrderSagaData> | undefined> {
    const cancelling =
      order.cancelAttempts > 0
        ? await this.#deps.cancelSaga.get(cancelOrderSagaId(order.id, order.cancelAttempts))
        : undefined;
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
