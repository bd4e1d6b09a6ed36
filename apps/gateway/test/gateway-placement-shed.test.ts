import { create } from '@bufbuild/protobuf';
import { createService, type GrpcServer, type Service } from '@mercato/chassis';
import { parsePrometheusText, sampleValue, startGrpcStub, startTokenIssuer } from '@mercato/chassis/testing';
import { IdentityService } from '@mercato/contracts/grpc/identity';
import { OrderSchema, OrderService } from '@mercato/contracts/grpc/order';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayConfig } from '../src/config.ts';
import { gatewayDefinition } from '../src/gateway.service.ts';
import { gatewayPeers } from './support/peers.ts';

/**
 * An order beyond the edge's placement limit is refused as it arrives: after the token and the
 * quota (a client over its quota hears 429), before its body is read and validated. Under a burst
 * the refusal then costs the busy edge as few turns of its event loop as it can.
 */
describe('placement shed at the edge', () => {
  let issuer: Awaited<ReturnType<typeof startTokenIssuer>>;
  let upstream: GrpcServer;
  let gateway: Service<GatewayConfig>;
  let url = '';
  let releaseHeld: () => void = () => undefined;
  let createCalls = 0;

  beforeAll(async () => {
    issuer = await startTokenIssuer();
    const held = new Promise<void>((resolve) => {
      releaseHeld = resolve;
    });
    const stub = await startGrpcStub((router) => {
      router.service(IdentityService, { getJwks: () => ({ keys: [] }) });
      router.service(OrderService, {
        createOrder: async (request) => {
          createCalls += 1;
          await held;
          return {
            created: true,
            order: create(OrderSchema, { orderId: 'o-1', customerId: request.customerId, status: 'pending' }),
          };
        },
      });
    });
    upstream = stub.server;
    gateway = await createService(gatewayDefinition, {
      PORT: '0',
      LOG_LEVEL: 'silent',
      MERCATO_PEERS: gatewayPeers(stub.url),
      IDENTITY_URL: issuer.url,
      GATEWAY_PLACEMENT_LIMIT_MIN: '1',
      GATEWAY_PLACEMENT_LIMIT_MAX: '1',
    });
    url = await gateway.start();
  });
  afterAll(async () => {
    releaseHeld();
    await gateway?.stop();
    await upstream?.close(100);
    await issuer?.close();
  });

  const place = async (body: string, token?: string) =>
    fetch(`${url}/api/orders`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'idempotency-key': `shed-${Math.random().toString(36).slice(2, 12)}`,
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body,
    });

  it('refuses before reading the body once the limit is taken, and only then', async () => {
    const token = await issuer.tokenFor('c-1');
    const valid = JSON.stringify({ items: [{ sku: 'BOK-0001', quantity: 1 }], shipping_address: '1 Road' });
    // Nothing in flight: a bad body is a 400, as it always was.
    expect((await place('{"items": "none"}', token)).status).toBe(400);

    const first = place(valid, token);
    await expect.poll(() => createCalls, { timeout: 5_000 }).toBe(1);

    const refused = await place('{"items": "none"}', token);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(await refused.json()).toMatchObject({ code: 'GATEWAY.OVERLOADED', status: 503 });
    // The token still comes first: a stranger learns nothing, overload or not.
    expect((await place(valid)).status).toBe(401);
    expect(createCalls).toBe(1);

    const metrics = parsePrometheusText(await (await fetch(`${url}/metrics`)).text());
    expect(sampleValue(metrics, 'concurrency_limit_refusals_total', { limiter: 'edge-placement' })).toBe(1);

    releaseHeld();
    expect((await first).status).toBe(202);
    expect((await place('{"items": "none"}', token)).status).toBe(400);
  });
});
