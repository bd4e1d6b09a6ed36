import { once } from 'node:events';
import { connect } from 'node:net';
import type { ConnectRouter } from '@connectrpc/connect';
import {
  AppError,
  BoundedQueue,
  createService,
  type GrpcServer,
  notFound,
  type Service,
} from '@mercato/chassis';
import { startGrpcStub, startTokenIssuer, waitFor } from '@mercato/chassis/testing';
import { CatalogService } from '@mercato/contracts/grpc/catalog';
import { type BlockedUser, IdentityService } from '@mercato/contracts/grpc/identity';
import { InventoryService } from '@mercato/contracts/grpc/inventory';
import { OrderService } from '@mercato/contracts/grpc/order';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { GatewayConfig } from '../src/config.ts';
import { gatewayDefinition } from '../src/gateway.service.ts';
import { gatewayPeers } from './support/peers.ts';

/** What the order stub was asked for, and the streams it holds open. */
const order = { streamCalls: [] as Array<{ customerId: string; orderId: string; after: string }>, open: 0 };
/** Blocks the identity stub streams to whoever watches (the gateway). */
const blocks = { watchers: new Set<BoundedQueue<BlockedUser[]>>() };
const announceBlock = (userId: string, at: Date) => {
  for (const watcher of blocks.watchers)
    watcher.push([{ userId, blockedAt: at.toISOString() } as BlockedUser]);
};

/** The busy stock stream: how many levels it sent, and whether the gateway still holds it. */
const busy = { sent: 0, open: 0 };

const untilAborted = (signal: AbortSignal) =>
  new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));

const upstreamRoutes = (router: ConnectRouter) => {
  router.service(CatalogService, { listCategories: () => ({ categories: [] }) });
  router.service(IdentityService, {
    getJwks: () => ({ keys: [] }),
    async *watchBlockedUsers(_request, context) {
      const queue = new BoundedQueue<BlockedUser[]>(100);
      blocks.watchers.add(queue);
      context.signal.addEventListener('abort', () => queue.end());
      try {
        yield { users: [] };
        for await (const users of queue) yield { users };
      } finally {
        blocks.watchers.delete(queue);
      }
    },
  });
  router.service(InventoryService, {
    async *streamStockLevels(request, context) {
      if (request.skus[0] === 'NONE-0001')
        throw notFound('INVENTORY.UNKNOWN_SKU', 'No stock is kept for SKU NONE-0001');
      if (request.skus[0] === 'BUSY-0001') {
        // A level of ~5 KB as fast as the gateway takes them, until the gateway lets go.
        const warehouses = Array.from({ length: 100 }, (_, index) => ({
          warehouseId: `wh_${String(index).padStart(40, '0')}`,
          available: index,
          reserved: 0,
        }));
        busy.open += 1;
        try {
          for (busy.sent = 0; busy.sent < 20_000 && !context.signal.aborted; busy.sent += 1)
            yield { stock: { sku: 'BUSY-0001', available: busy.sent, reserved: 0, warehouses } };
          await untilAborted(context.signal);
        } finally {
          busy.open -= 1;
        }
        return;
      }
      yield { stock: { sku: request.skus[0], available: 3, reserved: 0 } };
      await untilAborted(context.signal);
    },
  });
  router.service(OrderService, {
    // Every order belongs to whoever asks for it (the gateway passes the verified user on).
    getOrder: (request, context) => ({
      order: {
        orderId: request.orderId,
        customerId: context.requestHeader.get('x-mercato-user-id') ?? '',
        version: 3,
      },
    }),
    async *streamOrders(request, context) {
      order.streamCalls.push({
        customerId: request.customerId,
        orderId: request.orderId,
        after: request.after,
      });
      // A stream order will never serve, however often it is asked.
      if (request.customerId === 'usr_refused')
        throw new AppError({ code: 'ORDER.NOT_SERVED', kind: 'forbidden', message: 'not for this customer' });
      order.open += 1;
      try {
        if (request.customerId) yield { startedAfter: request.after || '100.7' };
        // Open until the caller leaves.
        await untilAborted(context.signal);
      } finally {
        order.open -= 1;
      }
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
      MERCATO_PEERS: gatewayPeers(grpc),
      IDENTITY_URL: issuer.url,
      GATEWAY_RATE_LIMIT_DEFAULT: 'off',
      GATEWAY_STREAMS_PER_USER: '3',
      GATEWAY_STREAMS_PER_IP: '2',
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

  const open = async (path: string, headers: Record<string, string> = {}, token?: string) => {
    const controller = new AbortController();
    const response = await fetch(`${url}${path}`, {
      headers: { authorization: `Bearer ${token ?? (await issuer.tokenFor('usr_a'))}`, ...headers },
      signal: controller.signal,
    });
    return { response, close: () => controller.abort() };
  };
  /** An open stream's events as they come, and whether the gateway ended it. */
  const watch = (response: Response) => {
    const seen = { text: '', closed: false };
    void (async () => {
      const decoder = new TextDecoder();
      try {
        for await (const chunk of response.body ?? []) seen.text += decoder.decode(chunk as Uint8Array);
      } catch {
        // Aborted by the test.
      }
      seen.closed = true;
    })();
    return seen;
  };
  const now = () => Math.floor(Date.now() / 1000);

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

  it('ends a stream when the token that opened it expires, saying so, and refuses an expired one', async () => {
    const shortLived = await issuer.sign(issuer.claims({ sub: 'usr_exp', exp: now() + 2 }));
    const { response } = await open('/api/orders/live', {}, shortLived);
    expect(response.status).toBe(200);
    const seen = watch(response);
    await waitFor('the stream ended', async () => seen.closed, 6_000);
    expect(seen.text).toContain('event: end\ndata: {"reason":"token_expired"');
    await waitFor('the upstream stream closed too', async () => order.open === 0);
    // Within the verifier's clock skew the token still passes elsewhere, but opens no stream.
    const again = await open('/api/orders/live', {}, shortLived);
    expect(again.response.status).toBe(401);
    expect(await again.response.json()).toMatchObject({ code: 'AUTH.TOKEN_EXPIRED' });
  });

  it("ends a blocked user's streams and refuses the tokens it was issued before the block", async () => {
    await waitFor('the gateway watching identity for blocks', async () => blocks.watchers.size === 1);
    const before = await issuer.tokenFor('usr_blocked');
    const streams = await Promise.all([
      open('/api/orders/live', {}, before),
      open('/api/orders/ord_9/live', {}, before),
    ]);
    const seen = streams.map(({ response }) => watch(response));
    const other = await open('/api/orders/live', {}, await issuer.tokenFor('usr_other'));
    const otherSeen = watch(other.response);
    await waitFor('three streams upstream', async () => order.open === 3);

    // Issued-at has second precision: the block comes a second after the token.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    announceBlock('usr_blocked', new Date());
    await waitFor('both streams ended', async () => seen.every((s) => s.closed), 3_000);
    for (const s of seen) expect(s.text).toContain('event: end\ndata: {"reason":"user_blocked"');
    await waitFor('their upstream streams closed', async () => order.open === 1);
    expect(otherSeen.closed).toBe(false);
    other.close();

    const me = await fetch(`${url}/api/orders/live`, { headers: { authorization: `Bearer ${before}` } });
    expect(me.status).toBe(401);
    expect(await me.json()).toMatchObject({ code: 'AUTH.TOKEN_REVOKED' });
    // Unblocked and signed in again: a token issued after the block is honoured.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const fresh = await open('/api/orders/live', {}, await issuer.tokenFor('usr_blocked'));
    expect(fresh.response.status).toBe(200);
    fresh.close();
  });

  it('answers a live stock stream of an unknown SKU with a 404 problem, as the one-off read does', async () => {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      // Three times, beyond the per-address cap of two: a refused stream holds no place.
      const response = await fetch(`${url}/api/inventory/stock/NONE-0001/live`);
      expect(response.status).toBe(404);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      expect(await response.json()).toMatchObject({ code: 'INVENTORY.UNKNOWN_SKU', status: 404 });
    }
  });

  it('cuts off a client that stops reading a busy stream, instead of holding every event for it', async () => {
    // A client that sends its request, reads the head and then nothing more.
    const client = connect(Number(new URL(url).port), '127.0.0.1');
    await once(client, 'connect');
    client.write('GET /api/inventory/stock/BUSY-0001/live HTTP/1.1\r\nhost: x\r\n\r\n');
    await once(client, 'data');
    client.pause();
    await waitFor('the upstream stream opened', async () => busy.open === 1);
    // Once the kernel's socket buffers and the gateway's 256 KB are full, the gateway lets go: its
    // upstream call is cancelled long before the 20,000 levels (~100 MB) the upstream would send.
    await waitFor('the gateway let the busy stream go', async () => busy.open === 0, 15_000);
    expect(busy.sent).toBeLessThan(20_000);
    const gauge = await (await fetch(`${url}/metrics`)).text();
    expect(gauge).toMatch(/^gateway_live_streams\{[^}]*\} 0$/m);
    client.resume();
    await waitFor('the connection closed', async () => client.closed || client.destroyed, 5_000);
    client.destroy();
  });

  it('ends an order stream the order service refuses, saying so, instead of asking again', async () => {
    const { response, close } = await open('/api/orders/live', {}, await issuer.tokenFor('usr_refused'));
    expect(response.status).toBe(200);
    const seen = watch(response);
    await waitFor('the stream ended', async () => seen.closed, 3_000);
    close();
    expect(seen.text).toContain('event: end\ndata: {"reason":"refused","code":"ORDER.NOT_SERVED"');
    // Past the first reconnection delay (200 ms): asked once, not again.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(order.streamCalls.filter((call) => call.customerId === 'usr_refused')).toHaveLength(1);
  });

  it('caps live streams per user and per anonymous address: 429 with Retry-After beyond', async () => {
    await waitFor('no stream left open', async () => order.open === 0);
    const token = await issuer.tokenFor('usr_many');
    const opened = [
      await open('/api/orders/live', {}, token),
      await open('/api/orders/ord_1/live', {}, token),
      await open('/api/orders/ord_2/live', {}, token),
    ];
    expect(opened.map(({ response }) => response.status)).toEqual([200, 200, 200]);
    await waitFor('three upstream streams', async () => order.open === 3);
    const gauge = await (await fetch(`${url}/metrics`)).text();
    expect(gauge).toMatch(/^gateway_live_streams\{[^}]*\} 3$/m);
    const refused = await open('/api/orders/live', {}, token);
    expect(refused.response.status).toBe(429);
    expect(refused.response.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await refused.response.json()).toMatchObject({ code: 'GATEWAY.TOO_MANY_STREAMS' });
    expect(order.open).toBe(3);
    // Another user is not affected; closing one stream frees its place.
    const other = await open('/api/orders/live', {}, await issuer.tokenFor('usr_someone'));
    expect(other.response.status).toBe(200);
    other.close();
    opened[0]?.close();
    await waitFor(
      'a place freed',
      async () => (await open('/api/orders/live', {}, token)).response.status === 200,
    );

    const stock = () => fetch(`${url}/api/inventory/stock/KIT-0001/live`);
    const anonymous = [await stock(), await stock()];
    expect(anonymous.map((response) => response.status)).toEqual([200, 200]);
    const third = await stock();
    expect(third.status).toBe(429);
    expect(third.headers.get('retry-after')).toMatch(/^\d+$/);
    for (const response of anonymous) await response.body?.cancel();
  });
});
