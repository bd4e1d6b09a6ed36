import type { AddressInfo } from 'node:net';
import type { ConnectRouter } from '@connectrpc/connect';
import { AppError, createService, type GrpcServer, type Service } from '@mercato/chassis';
import { startGrpcStub, startTokenIssuer } from '@mercato/chassis/testing';
import { CatalogService } from '@mercato/contracts/grpc/catalog';
import { IdentityService } from '@mercato/contracts/grpc/identity';
import { OrderService } from '@mercato/contracts/grpc/order';
import fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { GatewayConfig } from '../src/config.ts';
import { gatewayDefinition } from '../src/gateway.service.ts';
import { gatewayPeers } from './support/peers.ts';

const upstreamRoutes = (router: ConnectRouter) => {
  router.service(CatalogService, { listCategories: () => ({ categories: [] }) });
  router.service(IdentityService, { getJwks: () => ({ keys: [] }) });
  router.service(OrderService, {
    getOrder: (request) => {
      if (request.orderId !== 'ord_a')
        throw new AppError({
          code: 'ORDER.NOT_FOUND',
          kind: 'not_found',
          message: `No order ${request.orderId}`,
        });
      return { order: { orderId: 'ord_a', customerId: 'usr_a', version: 6 } };
    },
  });
};

/**
 * `GET /api/orders?order_id=…&min_version=…` waits for the read model only for the caller's own
 * order: another customer's order is a 404 exactly like an order that does not exist, answered
 * before order-view is asked (so there is no wait to time either).
 */
describe("read-your-writes for the caller's own orders only", () => {
  let issuer: Awaited<ReturnType<typeof startTokenIssuer>>;
  let upstream: GrpcServer;
  let orderView: FastifyInstance;
  let gateway: Service<GatewayConfig>;
  let url = '';
  const asked: string[] = [];

  beforeAll(async () => {
    issuer = await startTokenIssuer();
    const stub = await startGrpcStub(upstreamRoutes);
    upstream = stub.server;
    orderView = fastify();
    orderView.get('/*', async (request) => {
      asked.push(request.url);
      return { orders: [], position: '1.1' };
    });
    await orderView.listen({ host: '127.0.0.1', port: 0 });
    const grpc = stub.url;
    gateway = await createService(gatewayDefinition, {
      PORT: '0',
      LOG_LEVEL: 'silent',
      MERCATO_PEERS: gatewayPeers(grpc, {
        'order-view': `http://127.0.0.1:${(orderView.server.address() as AddressInfo).port}`,
      }),
      IDENTITY_URL: issuer.url,
    });
    url = await gateway.start();
  });
  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close(100);
    await orderView?.close();
    await issuer?.close();
  });
  beforeEach(() => {
    asked.length = 0;
  });

  const list = async (user: string, orderId: string, minVersion = 99) => {
    const response = await fetch(`${url}/api/orders?order_id=${orderId}&min_version=${minVersion}`, {
      headers: { authorization: `Bearer ${await issuer.tokenFor(user)}` },
    });
    return { status: response.status, body: (await response.text()).replaceAll(orderId, '<id>') };
  };

  it("answers another customer's order as a missing one, without asking the read model", async () => {
    const theirs = await list('usr_b', 'ord_a');
    const missing = await list('usr_b', 'ord_zz');
    expect(theirs).toEqual(missing);
    expect(theirs.status).toBe(404);
    expect(JSON.parse(theirs.body)).toMatchObject({ code: 'ORDER.NOT_FOUND' });
    expect(theirs.body).not.toMatch(/version/);
    expect(asked).toEqual([]);
  });

  it('asks the read model for my own order', async () => {
    expect((await list('usr_a', 'ord_a', 6)).status).toBe(200);
    expect(asked).toEqual(['/customers/usr_a/orders?order_id=ord_a&min_version=6']);
  });
});
