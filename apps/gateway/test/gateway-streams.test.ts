import type { ConnectRouter } from '@connectrpc/connect';
import { createService, type GrpcServer, type Service } from '@mercato/chassis';
import { startGrpcStub, startTokenIssuer, waitFor } from '@mercato/chassis/testing';
import { CatalogService } from '@mercato/contracts/grpc/catalog';
import { IdentityService } from '@mercato/contracts/grpc/identity';
import { OrderService } from '@mercato/contracts/grpc/order';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { GatewayConfig } from '../src/config.ts';
import { gatewayDefinition } from '../src/gateway.service.ts';

/** What the order stub was asked for, and the streams it holds open. */
const order = { streamCalls: [] as Array<{ customerId: string; orderId: string; after: string }> };

const upstreamRoutes = (router: ConnectRouter) => {
  router.service(CatalogService, { listCategories: () => ({ categories: [] }) });
  router.service(IdentityService, { getJwks: () => ({ keys: [] }) });
  router.service(OrderService, {
    getOrder: (request) => ({ order: { orderId: request.orderId, customerId: 'usr_a', version: 3 } }),
    async *streamOrders(request, context) {
      order.streamCalls.push({
        customerId: request.customerId,
        orderId: request.orderId,
        after: request.after,
      });
      if (request.customerId) yield { startedAfter: request.after || '100.7' };
      // Open until the caller leaves.
      await new Promise((resolve) => context.signal.addEventListener('abort', resolve));
    },
  });
};

/** Live order streams at the edge: resume points checked before anything is opened. */
describe('live order streams at the edge', () => {
  let issuer: Awaited<ReturnType<typeof startTokenIssuer>>;
  let upstream: GrpcServer;
  let gateway: Service<GatewayConfig>;
  let url = '';

  beforeAll(async () => {
    issuer = await startTokenIssuer();
    const stub = await startGrpcStub(upstreamRoutes);
    upstream = stub.server;
    const grpc = stub.url;
    gateway = await createService(gatewayDefinition, {
      PORT: '0',
      LOG_LEVEL: 'silent',
      CATALOG_GRPC_URL: grpc,
      IDENTITY_GRPC_URL: grpc,
      CUSTOMER_GRPC_URL: grpc,
      PRICING_GRPC_URL: grpc,
      INVENTORY_GRPC_URL: grpc,
      ORDER_GRPC_URL: grpc,
      FULFILLMENT_GRPC_URL: grpc,
      NOTIFICATION_GRPC_URL: grpc,
      ORDER_VIEW_URL: 'http://127.0.0.1:9',
      ANALYTICS_URL: 'http://127.0.0.1:9',
      IDENTITY_URL: issuer.url,
      GATEWAY_RATE_LIMIT_DEFAULT: 'off',
    });
    url = await gateway.start();
  });
  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close(100);
    await issuer?.close();
  });
  beforeEach(() => {
    order.streamCalls.length = 0;
  });

  const open = async (path: string, headers: Record<string, string> = {}) => {
    const controller = new AbortController();
    const response = await fetch(`${url}${path}`, {
      headers: { authorization: `Bearer ${await issuer.tokenFor('usr_a')}`, ...headers },
      signal: controller.signal,
    });
    return { response, close: () => controller.abort() };
  };

  it.each([
    ['/api/orders/live', '99999999999999999999.1'],
    ['/api/orders/live', '18446744073709551616.0'],
    ['/api/orders/live', '1.9223372036854775808'],
    ['/api/orders/live', '12'],
    ['/api/orders/live', '1.2.3'],
    ['/api/orders/ord_1/live', '2147483648'],
    ['/api/orders/ord_1/live', '99999999999'],
    ['/api/orders/ord_1/live', '1.2'],
  ])('%s refuses Last-Event-ID %s with a 400 problem and opens nothing', async (path, lastEventId) => {
    for (const headers of [{ 'last-event-id': lastEventId }, {}] as Record<string, string>[]) {
      const query = 'last-event-id' in headers ? '' : `?last_event_id=${encodeURIComponent(lastEventId)}`;
      const { response, close } = await open(`${path}${query}`, headers);
      if (response.status !== 400) close();
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      expect(await response.json()).toMatchObject({ code: 'ORDER.BAD_LAST_EVENT_ID', status: 400 });
    }
    expect(order.streamCalls).toEqual([]);
  });

  it('opens a stream at the highest resume points the log can hold', async () => {
    const customer = await open('/api/orders/live', {
      'last-event-id': '18446744073709551615.9223372036854775807',
    });
    expect(customer.response.status).toBe(200);
    const one = await open('/api/orders/ord_1/live', { 'last-event-id': '2147483647' });
    expect(one.response.status).toBe(200);
    await waitFor('both streams opened upstream', async () => order.streamCalls.length === 2);
    customer.close();
    one.close();
    expect(order.streamCalls.map((call) => call.after)).toEqual([
      '18446744073709551615.9223372036854775807',
      '2147483647',
    ]);
  });
});
