import type { Client } from '@connectrpc/connect';
import {
  connectTestBus,
  probePostgres,
  type startGrpcStub,
  startTestService,
  suiteTitle,
  type TestBus,
  type TestService,
  waitFor,
} from '@mercato/chassis/testing';
import { OrderService } from '@mercato/contracts/grpc/order';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrderConfig } from '../src/config.ts';
import { orderDefinition } from '../src/order.service.ts';
import { sagaParticipants, startPricingStub } from './support/saga-participants.ts';

const postgres = await probePostgres();

/**
 * The placement limit counts the orders an instance accepted until their PlaceOrder sagas finish,
 * and a saga's replies go to any member of order's consumer group: with two instances (replicas, a
 * canary) an order accepted by one is often finished by the other. The accepting instance must
 * hear of it; it used to hold the order's place for ORDER_PLACEMENT_HOLD_MS (a minute), and a canary
 * release in CI refused every order for 15 s as those filled the limit.
 */
describe.skipIf(!postgres.available)(
  suiteTitle('the placement limit across two order instances', postgres),
  () => {
    let accepting: TestService<OrderConfig>;
    let finishing: TestService<OrderConfig>;
    let pricing: Awaited<ReturnType<typeof startGrpcStub>>;
    let bus: TestBus;
    let orders: Client<typeof OrderService>;
    let keys = 0;
    let succeed: ReturnType<typeof sagaParticipants>['succeed'];

    const place = async () => {
      const created = await orders.createOrder({
        customerId: 'cus_1',
        idempotencyKey: `placement-test-${++keys}`,
        items: [{ sku: 'BOK-0001', quantity: 1 }],
        shippingAddress: '1 Test Road',
      });
      return created.order?.orderId ?? '';
    };

    beforeAll(async () => {
      pricing = await startPricingStub();
      // A limit fixed at two orders in progress, held for the default minute.
      const environment = {
        MERCATO_PEERS: `pricing=${pricing.url}`,
        ORDER_PLACEMENT_LIMIT_INITIAL: '2',
        ORDER_PLACEMENT_LIMIT_MIN: '2',
        ORDER_PLACEMENT_LIMIT_MAX: '2',
        ORDER_RESERVE_TIMEOUT_MS: '60000',
        ORDER_PAYMENT_TIMEOUT_MS: '60000',
        ORDER_CONFIRM_TIMEOUT_MS: '60000',
        ORDER_SAGA_TIMER_INTERVAL_MS: '50',
      };
      accepting = await startTestService(orderDefinition, environment);
      finishing = await startTestService(orderDefinition, {
        ...environment,
        DATABASE_URL: accepting.databaseUrl,
        MESSAGES_DATABASE_URL: accepting.messagesUrl,
      });
      // The accepting instance handles no delivery (a blue-green standby does not): every saga
      // reply goes to the other one, which finishes the sagas.
      await accepting.service.setRole('standby');
      orders = accepting.client(OrderService);
      bus = connectTestBus(accepting.messagesUrl);
      ({ succeed } = sagaParticipants(bus));
    });
    afterAll(async () => {
      await bus?.close();
      await finishing?.stop();
      await accepting?.stop();
      await pricing?.server.close(0);
    });

    it('an order finished by another instance frees its place in the accepting instance at once', async () => {
      const first = await place();
      const second = await place();
      await expect(place()).rejects.toThrow(/too many orders in progress/);

      for (const orderId of [first, second]) {
        const sagaId = `${orderId}.place`;
        await succeed(sagaId, 'inventory.reserve', { reservation_id: `res_${orderId}` });
        await succeed(sagaId, 'payment.take', { payment_id: `pay_${orderId}` });
        await succeed(sagaId, 'inventory.commit');
      }
      await waitFor('both orders confirmed', async () => {
        const statuses = await Promise.all(
          [first, second].map(
            async (orderId) => (await orders.getOrder({ orderId, asOf: '' })).order?.status,
          ),
        );
        return statuses.every((status) => status === 'confirmed');
      });
      // Accepted again within moments (the hold would have kept both places for a minute).
      const began = Date.now();
      let third = '';
      await waitFor(
        'a third order accepted',
        async () => {
          third = await place().catch(() => '');
          return third !== '';
        },
        5_000,
        50,
      );
      expect(third).not.toBe('');
      console.log(`accepted again ${Date.now() - began} ms after both orders were confirmed elsewhere`);
    });
  },
);
