import {
  connectTestBus,
  grpcFailure,
  probePostgres,
  startTestService,
  suiteTitle,
  type TestBus,
  type TestService,
  waitFor,
} from '@mercato/chassis/testing';
import {
  createEnvelope,
  type Envelope,
  orderCancelled,
  orderCancelRefused,
  orderCancelRequested,
  orderConfirmed,
  orderCreated,
  orderInventoryReserved,
  orderPaymentAuthorized,
  paymentProcessed,
  paymentRefunded,
} from '@mercato/contracts';
import { OrderViewService } from '@mercato/contracts/grpc/order-view';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrderViewConfig } from '../src/config.ts';
import { orderViewDefinition } from '../src/order-view.service.ts';

const postgres = await probePostgres();
const ADMIN = 'order-view-test-admin-token-0123';

const line = { sku: 'BOK-0001', quantity: 2, unit_price_minor: 1500 };

/**
 * order-view fed over a real PostgreSQL message store: summaries folded from order, payment and
 * shipment events, 1.0 and 2.0 `order.cancelled` in one log, read-your-writes by order version,
 * and a blue-green rebuild under a stream of new events that ends with the rebuilt copy equal to
 * the live one row for row.
 */
describe.skipIf(!postgres.available)(suiteTitle('order-view read model', postgres), () => {
  let running: TestService<OrderViewConfig>;
  let messageStore: TestBus;
  let seq = 0;

  const publish = (key: string, envelope: Envelope) =>
    messageStore.bus.publish([{ kind: 'topic', destination: envelope.event_type, key, envelope }]);
  const event = (
    contract: Parameters<typeof createEnvelope>[0]['contract'],
    data: Record<string, unknown>,
    orderVersion?: number,
  ) => {
    const envelope = createEnvelope({
      contract,
      source: 'test',
      correlationId: 'corr_test',
      data,
      now: new Date(Date.UTC(2026, 10, 1, 10, 0, 0, ++seq)),
    });
    if (orderVersion !== undefined) envelope.metadata = { ...envelope.metadata, order_version: orderVersion };
    return envelope;
  };
  const place = (orderId: string, customerId: string) =>
    publish(
      orderId,
      event(
        orderCreated,
        { order_id: orderId, customer_id: customerId, lines: [line], total_minor: 3000, currency: 'EUR' },
        1,
      ),
    );
  const admin = (path: string, method = 'GET') =>
    fetch(`${running.url}${path}`, { method, headers: { authorization: `Bearer ${ADMIN}` } });

  beforeAll(async () => {
    running = await startTestService(orderViewDefinition, {
      MERCATO_ADMIN_TOKEN: ADMIN,
      READ_MODEL_POLL_MS: '20',
      READ_MODEL_BATCH_SIZE: '50',
    });
    messageStore = connectTestBus(running.messagesUrl);
  });

  afterAll(async () => {
    await messageStore?.close();
    await running?.stop();
  });

  it('folds order, payment and shipment events into one summary per order, upcasting 1.0 cancellations', async () => {
    await place('ord_a1', 'cus_a');
    await publish(
      'ord_a1',
      event(paymentProcessed, {
        order_id: 'ord_a1',
        payment_id: 'pay_1',
        amount_minor: 3000,
        currency: 'EUR',
      }),
    );
    await publish(
      'ord_a1',
      event(
        orderConfirmed,
        {
          order_id: 'ord_a1',
          customer_id: 'cus_a',
          total_minor: 3000,
          currency: 'EUR',
          lines: [line],
          shipping_address: '1 Main St',
          reservation_id: 'res_1',
        },
        4,
      ),
    );
    await place('ord_a2', 'cus_a');
    // A cancellation as order published it before 2.0: no reason_detail in it.
    const old = event(
      orderCancelled,
      { order_id: 'ord_a2', customer_id: 'cus_a', reason: 'out_of_stock' },
      3,
    );
    await publish('ord_a2', { ...old, event_version: '1.0' });
    await place('ord_a3', 'cus_a');
    await publish(
      'ord_a3',
      event(paymentProcessed, {
        order_id: 'ord_a3',
        payment_id: 'pay_3',
        amount_minor: 3000,
        currency: 'EUR',
      }),
    );
    await publish(
      'ord_a3',
      event(
        orderCancelled,
        { order_id: 'ord_a3', customer_id: 'cus_a', reason: 'shipping_failed', reason_detail: 'parcel_lost' },
        7,
      ),
    );
    await publish(
      'ord_a3',
      event(paymentRefunded, { order_id: 'ord_a3', refund_id: 'ref_3', amount_minor: 3000, currency: 'EUR' }),
    );
    await place('ord_b1', 'cus_b');

    const client = running.client(OrderViewService);
    let listed: Awaited<ReturnType<typeof client.listCustomerOrders>> | undefined;
    await waitFor('three orders of cus_a', async () => {
      listed = await client.listCustomerOrders({ customerId: 'cus_a' });
      return listed.orders.length === 3 && listed.orders.some((o) => o.paymentStatus === 'refunded');
    });
    const byId = new Map(listed?.orders.map((order) => [order.orderId, order]));
    expect(byId.get('ord_a1')).toMatchObject({
      status: 'confirmed',
      paymentStatus: 'processed',
      itemCount: 2,
      totalMinor: 3000n,
      orderVersion: 4,
    });
    expect(byId.get('ord_a2')).toMatchObject({
      status: 'cancelled',
      reason: 'out_of_stock',
      reasonDetail: '',
    });
    expect(byId.get('ord_a3')).toMatchObject({
      status: 'cancelled',
      reasonDetail: 'parcel_lost',
      paymentStatus: 'refunded',
      refundedMinor: 3000n,
    });
    expect(listed?.counts).toEqual({ confirmed: 1, cancelled: 2 });
    expect(listed?.position).toMatch(/^\d+\.\d+$/);
    const confirmedOnly = await client.listCustomerOrders({ customerId: 'cus_a', status: 'confirmed' });
    expect(confirmedOnly.orders.map((o) => o.orderId)).toEqual(['ord_a1']);
    const page = await client.listCustomerOrders({ customerId: 'cus_a', pageSize: 2 });
    const rest = await client.listCustomerOrders({
      customerId: 'cus_a',
      pageSize: 2,
      pageToken: page.nextPageToken,
    });
    expect([...page.orders, ...rest.orders].map((o) => o.orderId).sort()).toEqual([
      'ord_a1',
      'ord_a2',
      'ord_a3',
    ]);
    expect(
      (await grpcFailure(client.listCustomerOrders({ customerId: 'cus_a', pageToken: 'nonsense' })))?.code,
    ).toBe(3);

    const ready = (await (await fetch(`${running.url}/readyz`)).json()) as {
      detail: Record<string, { live: { lag: { events: number } } }>;
    };
    expect(ready.detail.order_view?.live.lag.events).toBe(0);
    const metrics = await (await fetch(`${running.url}/metrics`)).text();
    expect(metrics).toMatch(/read_model_lag_events\{read_model="order_view",generation="live"[^}]*\} 0/);
  });

  it('waits for the version a reader asks for, and says so when the read model has not reached it', async () => {
    const client = running.client(OrderViewService);
    await place('ord_c1', 'cus_c');
    // Version 1 is enough: answered as soon as order.created is applied.
    const first = await client.getOrderSummary({ orderId: 'ord_c1', minVersion: 1 });
    expect(first.summary?.status).toBe('pending');
    const waiting = client.getOrderSummary({ orderId: 'ord_c1', minVersion: 5 }, { timeoutMs: 2_500 });
    setTimeout(() => {
      void publish(
        'ord_c1',
        event(
          orderCancelled,
          { order_id: 'ord_c1', customer_id: 'cus_c', reason: 'customer_request', reason_detail: null },
          5,
        ),
      );
    }, 300);
    expect((await waiting).summary).toMatchObject({ status: 'cancelled', orderVersion: 5 });
    const never = await grpcFailure(
      client.getOrderSummary({ orderId: 'ord_c1', minVersion: 9 }, { timeoutMs: 2_500 }),
    );
    expect(never?.code).toBe(14);
    expect(never?.rawMessage).toMatch(/not caught up with order ord_c1 at version 9/);
    // Over HTTP (as the edge asks): a retryable 503 problem that says when to ask again.
    const behind = await fetch(`${running.url}/customers/cus_c/orders?order_id=ord_c1&min_version=9`);
    expect(behind.status).toBe(503);
    expect(behind.headers.get('retry-after')).toBe('1');
    expect(await behind.json()).toMatchObject({ code: 'ORDER_VIEW.NOT_CAUGHT_UP', retryable: true });
    const unknown = await fetch(`${running.url}/orders/ord_nope/summary`);
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toMatch(/problem\+json/);
  });

  it('reaches every version the order hands out, the steps of a pending order included', async () => {
    const client = running.client(OrderViewService);
    await place('ord_p1', 'cus_p');
    // Stock reserved (version 2), then payment authorized (version 3): a cancel now answers version
    // 3, and a reader that asks for it is answered before any later event.
    await publish(
      'ord_p1',
      event(
        orderInventoryReserved,
        { order_id: 'ord_p1', customer_id: 'cus_p', reservation_id: 'res_p1' },
        2,
      ),
    );
    expect((await client.getOrderSummary({ orderId: 'ord_p1', minVersion: 2 })).summary).toMatchObject({
      status: 'pending',
      orderVersion: 2,
    });
    await publish(
      'ord_p1',
      event(
        orderPaymentAuthorized,
        {
          order_id: 'ord_p1',
          customer_id: 'cus_p',
          payment_id: 'pay_p1',
          amount_minor: 3000,
          currency: 'EUR',
        },
        3,
      ),
    );
    const atThree = await fetch(`${running.url}/customers/cus_p/orders?order_id=ord_p1&min_version=3`);
    expect(atThree.status).toBe(200);
    expect(((await atThree.json()) as { orders: Array<{ order_version: number }> }).orders).toMatchObject([
      { order_version: 3 },
    ]);
  });

  it('shows a cancellation under way as cancel_pending, and a refused one as confirmed again, each a version to reach', async () => {
    const client = running.client(OrderViewService);
    await place('ord_cp1', 'cus_cp');
    const confirmed = { order_id: 'ord_cp1', customer_id: 'cus_cp', total_minor: 3000, currency: 'EUR' };
    await publish(
      'ord_cp1',
      event(
        orderConfirmed,
        { ...confirmed, lines: [line], shipping_address: '1 Road', reservation_id: 'res_cp1' },
        2,
      ),
    );
    await publish(
      'ord_cp1',
      event(
        orderCancelRequested,
        { order_id: 'ord_cp1', customer_id: 'cus_cp', attempt: 1, from: 'confirmed' },
        3,
      ),
    );
    expect((await client.getOrderSummary({ orderId: 'ord_cp1', minVersion: 3 })).summary).toMatchObject({
      status: 'cancel_pending',
      orderVersion: 3,
    });
    await publish(
      'ord_cp1',
      event(
        orderCancelRefused,
        { order_id: 'ord_cp1', customer_id: 'cus_cp', reason: 'hold shipment failed: already_dispatched' },
        4,
      ),
    );
    expect((await client.getOrderSummary({ orderId: 'ord_cp1', minVersion: 4 })).summary).toMatchObject({
      status: 'confirmed',
      orderVersion: 4,
    });
  });

  it('rebuilds from the start of the log while new events arrive, then switches to a copy equal to the live one', async () => {
    // Readers all along: the switch must not fail a query that waits on it.
    const client = running.client(OrderViewService);
    const failures: string[] = [];
    let reading = true;
    const readers = Promise.all(
      [0, 1, 2].map(async () => {
        while (reading) {
          await client
            .listCustomerOrders({ customerId: 'cus_a' })
            .catch((error: Error) => failures.push(error.message));
        }
      }),
    );
    expect((await admin('/admin/read-model/rebuild', 'POST')).status).toBe(202);
    const more = (async () => {
      for (let i = 0; i < 120; i += 1) await place(`ord_r${i}`, `cus_r${i % 7}`);
    })();
    let status:
      | {
          generations: Array<{
            generation: number;
            status: string;
            compared_rows: number | null;
            differences: number | null;
          }>;
        }
      | undefined;
    await waitFor(
      'generation 2 live',
      async () => {
        status = (await (await admin('/admin/read-model')).json()) as typeof status;
        return status?.generations.some((g) => g.generation === 2 && g.status === 'live') ?? false;
      },
      20_000,
    );
    await more;
    const rebuilt = status?.generations.find((g) => g.generation === 2);
    expect(rebuilt?.differences).toBe(0);
    expect(rebuilt?.compared_rows).toBeGreaterThanOrEqual(5);
    expect(status?.generations.find((g) => g.generation === 1)?.status).toBe('standby');
    reading = false;
    await readers;
    expect(failures).toEqual([]);
    await waitFor('every new order in the rebuilt copy', async () => {
      const counts = await Promise.all(
        [0, 1, 2, 3, 4, 5, 6].map(
          async (c) =>
            (await client.listCustomerOrders({ customerId: `cus_r${c}`, pageSize: 100 })).orders.length,
        ),
      );
      return counts.reduce((a, b) => a + b, 0) === 120;
    });
    expect((await client.listCustomerOrders({ customerId: 'cus_a' })).orders).toHaveLength(3);
    expect((await fetch(`${running.url}/admin/read-model/rebuild`, { method: 'POST' })).status).toBe(401);
  });
});
