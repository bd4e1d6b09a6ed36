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
import { createEnvelope, orderCreated } from '@mercato/contracts';
import { OrderViewService } from '@mercato/contracts/grpc/order-view';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrderViewConfig } from '../src/config.ts';
import { orderViewDefinition } from '../src/order-view.service.ts';

const postgres = await probePostgres();

/**
 * Read-your-writes (`order_id` + `min_version`) is for the caller's own orders: another
 * customer's order is answered exactly as an order order-view has never seen, whatever version is
 * asked for, so neither its existence nor its version leaks.
 */
describe.skipIf(!postgres.available)(suiteTitle('order-view ownership', postgres), () => {
  let running: TestService<OrderViewConfig>;
  let messageStore: TestBus;

  const place = async (orderId: string, customerId: string) => {
    const envelope = createEnvelope({
      contract: orderCreated,
      source: 'test',
      correlationId: 'corr_test',
      data: {
        order_id: orderId,
        customer_id: customerId,
        lines: [{ sku: 'BOK-0001', quantity: 1, unit_price_minor: 1500 }],
        total_minor: 1500,
        currency: 'EUR',
      },
    });
    envelope.metadata = { ...envelope.metadata, order_version: 1 };
    await messageStore.bus.publish([
      { kind: 'topic', destination: envelope.event_type, key: orderId, envelope },
    ]);
  };
  /** What `customer` is told about `orderId` at `minVersion`: status and body, the id masked. */
  const asked = async (customer: string, orderId: string, minVersion: number) => {
    const response = await fetch(
      `${running.url}/customers/${customer}/orders?order_id=${orderId}&min_version=${minVersion}`,
    );
    const body = (await response.text()).replaceAll(orderId, '<id>');
    return { status: response.status, retryAfter: response.headers.get('retry-after'), body };
  };

  beforeAll(async () => {
    running = await startTestService(orderViewDefinition, { READ_MODEL_POLL_MS: '20' });
    messageStore = connectTestBus(running.messagesUrl);
    await place('ord_mine', 'cus_me');
    await place('ord_theirs', 'cus_them');
    await waitFor('both orders in the read model', async () => {
      const response = await fetch(`${running.url}/orders/ord_theirs/summary`);
      return (
        response.status === 200 && (await fetch(`${running.url}/orders/ord_mine/summary`)).status === 200
      );
    });
  });
  afterAll(async () => {
    await messageStore?.close();
    await running?.stop();
  });

  it('answers for my own order at once when it is there', async () => {
    const mine = await asked('cus_me', 'ord_mine', 1);
    expect(mine.status).toBe(200);
    expect(mine.body).toContain('<id>');
  });

  it("answers for another customer's order exactly as for one it has never seen", async () => {
    for (const minVersion of [1, 99]) {
      const [theirs, missing] = await Promise.all([
        asked('cus_me', 'ord_theirs', minVersion),
        asked('cus_me', 'ord_never_placed', minVersion),
      ]);
      expect(theirs).toEqual(missing);
      expect(theirs.status).toBe(503);
      expect(theirs.body).not.toMatch(/it has/);
    }
  });

  it('does the same over gRPC', async () => {
    const client = running.client(OrderViewService);
    const ask = async (orderId: string) => {
      const failure = await grpcFailure(
        client.listCustomerOrders(
          // No deadline of the caller's: the read waits its own 3 s at most.
          { customerId: 'cus_me', pageSize: 10, consistentWith: { orderId, minVersion: 1 } },
        ),
      );
      return { code: failure?.code, message: failure?.rawMessage.replaceAll(orderId, '<id>') };
    };
    const [theirs, missing] = await Promise.all([ask('ord_theirs'), ask('ord_never_placed')]);
    expect(theirs).toEqual(missing);
    expect(theirs.code).toBe(14);
    const mine = await client.listCustomerOrders({
      customerId: 'cus_me',
      pageSize: 10,
      consistentWith: { orderId: 'ord_mine', minVersion: 1 },
    });
    expect(mine.orders.map((order) => order.orderId)).toEqual(['ord_mine']);
  });
});
