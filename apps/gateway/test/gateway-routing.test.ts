import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Code, ConnectError, type ConnectRouter } from '@connectrpc/connect';
import { createService, type GrpcServer, type Service } from '@mercato/chassis';
import {
  freePort,
  parsePrometheusText,
  startGrpcStub,
  startTokenIssuer,
  waitFor,
} from '@mercato/chassis/testing';
import { CatalogService } from '@mercato/contracts/grpc/catalog';
import { CustomerService } from '@mercato/contracts/grpc/customer';
import { IdentityService } from '@mercato/contracts/grpc/identity';
import { InventoryService } from '@mercato/contracts/grpc/inventory';
import { OrderService } from '@mercato/contracts/grpc/order';
import { PricingService } from '@mercato/contracts/grpc/pricing';
import fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayConfig } from '../src/config.ts';
import { gatewayDefinition } from '../src/gateway.service.ts';
import { fitInFixedWindow } from './support/fixed-window.ts';

const products = [
  { id: 'p1', sku: 'KIT-0001', name: 'Pan', categorySlug: 'kitchen' },
  { id: 'p2', sku: 'KIT-0002', name: 'Pot', categorySlug: 'kitchen' },
];

/** Upstream behaviour the tests switch, and what the upstreams saw. */
const state = {
  pricingDown: false,
  flakyCalls: 0,
  requestIds: [] as string[],
  userIds: [] as string[],
};

/** A catalog that names itself in its categories, so tests can see which backend answered. */
const catalog = (label: string) => (router: ConnectRouter) =>
  router.service(CatalogService, {
    listCategories: () => ({ categories: [{ slug: label, name: label }] }),
    listProducts: (request) => ({ products, page: request.page, pageSize: request.pageSize, total: 2 }),
    async getProduct(request, context) {
      state.requestIds.push(context.requestHeader.get('x-request-id') ?? '');
      if (request.id === 'slow') await sleep(2_000, undefined, { signal: context.signal }).catch(() => {});
      if (request.id === 'flaky' && ++state.flakyCalls % 3 !== 0)
        throw new ConnectError('try again', Code.Unavailable);
      return { product: products[0] };
    },
  });

const services = (router: ConnectRouter) => {
  catalog('v1')(router);
  router.service(IdentityService, { getJwks: () => ({ keys: [] }) });
  router.service(CustomerService, {
    getCustomer: (request, context) => {
      state.userIds.push(context.requestHeader.get('x-mercato-user-id') ?? '');
      return { customer: { id: request.id, name: `Customer ${request.id}`, segment: 'standard' } };
    },
  });
  router.service(PricingService, {
    calculateQuote: (request) => {
      if (state.pricingDown) throw new ConnectError('pricing is down', Code.Unavailable);
      const lines = request.items.map((item) => ({
        sku: item.sku,
        quantity: item.quantity,
        unitPriceMinor: 1000n,
        subtotalMinor: 1000n * BigInt(item.quantity),
        discountMinor: 0n,
        totalMinor: 1000n * BigInt(item.quantity),
      }));
      const total = lines.reduce((sum, line) => sum + line.totalMinor, 0n);
      return { currency: 'EUR', lines, subtotalMinor: total, discountMinor: 0n, totalMinor: total };
    },
  });
  const ordersByKey = new Map<string, string>();
  router.service(OrderService, {
    createOrder: (request) => {
      const key = `${request.customerId}|${request.idempotencyKey}`;
      const created = !ordersByKey.has(key);
      if (created) ordersByKey.set(key, `ord_${ordersByKey.size + 1}`);
      const lines = request.items.map((item) => ({
        sku: item.sku,
        quantity: item.quantity,
        unitPriceMinor: 1000n,
      }));
      return {
        created,
        order: {
          orderId: ordersByKey.get(key),
          customerId: request.customerId,
          status: 'pending',
          lines,
          totalMinor: lines.reduce((sum, line) => sum + line.unitPriceMinor * BigInt(line.quantity), 0n),
          currency: 'EUR',
          shippingAddress: request.shippingAddress,
        },
      };
    },
  });
  router.service(InventoryService, {
    getStockLevels: (request) => ({
      stocks: request.skus.map((sku) => ({ sku, available: sku === 'KIT-0002' ? 0 : 7, reserved: 0 })),
    }),
    reserveStock: (request) => ({
      reservation: {
        reservationId: request.reservationId,
        status: 'active',
        expiresAt: '2030-01-01T00:00:00Z',
      },
    }),
  });
};

const API_KEY = 'k'.repeat(32);

interface Problem {
  code: string;
}
interface Card {
  sku: string;
  price: unknown;
  stock: unknown;
}
const json = async <T>(response: Response) => (await response.json()) as T;

describe('the routing table at work', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-routes-'));
  const routesFile = join(dir, 'routes.json');
  const grpcServers: GrpcServer[] = [];
  const httpServers: FastifyInstance[] = [];
  let issuer: Awaited<ReturnType<typeof startTokenIssuer>>;
  let gateway: Service<GatewayConfig>;
  let url = '';
  let document: { clusters: Record<string, unknown>; routes: unknown[] };
  let stoppedInstance = '';

  const grpcServer = async (routes: (router: ConnectRouter) => void) => {
    const { server, url: address } = await startGrpcStub(routes);
    grpcServers.push(server);
    return address;
  };
  const httpServer = async (setup: (app: FastifyInstance) => void) => {
    const app = fastify();
    setup(app);
    await app.listen({ host: '127.0.0.1', port: 0 });
    httpServers.push(app);
    return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  };
  const writeTable = (content: unknown) => writeFileSync(routesFile, JSON.stringify(content));
  const gauge = async (name: string, labels: Record<string, string> = {}) => {
    const text = await (await fetch(`${url}/metrics`)).text();
    const samples = parsePrometheusText(text).flatMap((family) => family.samples);
    const sample = samples.find(
      (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    );
    return sample?.value ?? 0;
  };

  beforeAll(async () => {
    issuer = await startTokenIssuer();
    const main = await grpcServer(services);
    const v2 = await grpcServer(catalog('v2'));
    const canary = await grpcServer(catalog('canary'));
    stoppedInstance = `http://127.0.0.1:${await freePort()}`;
    const legacy = await httpServer((app) => {
      // Reads a binary body to its end like a real upstream would, so that the gateway's count of
      // a streamed body, not the upstream's verdict on its type, decides an oversized upload.
      app.addContentTypeParser(
        'application/octet-stream',
        { parseAs: 'buffer', bodyLimit: 64 * 1024 * 1024 },
        (_request, body, done) => done(null, { bytes: (body as Buffer).length }),
      );
      app.all('/*', async (request, reply) => {
        // A backend that answers a Location of its own paths (a created resource).
        if (request.url.startsWith('/api/created')) void reply.header('location', '/api/customers/7');
        return echo(request);
      });
      const echo = (request: FastifyRequest) => ({
        method: request.method,
        url: request.url,
        body: request.body ?? null,
        correlation: request.headers['x-correlation-id'] ?? null,
        accept: request.headers.accept ?? null,
        traceparents: request.raw.headersDistinct.traceparent ?? [],
      });
    });
    const analytics = await httpServer((app) => {
      app.get('/customers/:id/recommendations', async () => {
        await sleep(2_000);
        return { items: [] };
      });
    });
    const grpc = (...backends: Array<{ name?: string; url: string; weight?: number }>) => ({
      protocol: 'grpc',
      backends,
    });
    document = {
      clusters: {
        catalog: grpc(
          { name: 'catalog-v1', url: main, weight: 3 },
          { name: 'catalog-v2', url: v2, weight: 1 },
        ),
        'catalog-canary': grpc({ url: canary }),
        identity: grpc({ url: main }),
        customer: grpc({ url: main }),
        pricing: grpc({ url: main }),
        inventory: grpc({ url: main }),
        order: grpc({ url: main }),
        fulfillment: grpc({ url: main }),
        notification: grpc({ url: main }),
        legacy: { protocol: 'http', backends: [{ url: legacy }] },
        // The same upstream found by name, beside an instance that has stopped (MERCATO_PEERS below).
        'legacy-found': { protocol: 'http', backends: [{ service: 'legacy-shop' }] },
        // A service discovery knows nothing of (a monolith the platform was started without).
        absent: { protocol: 'http', backends: [{ service: 'absent' }] },
        analytics: { protocol: 'http', backends: [{ url: analytics }] },
      },
      routes: [
        {
          name: 'canary',
          match: { path_prefix: '/api/catalog/', headers: { 'x-mercato-canary': 'always' } },
          clusters: { catalog: 'catalog-canary' },
        },
        {
          name: 'no-retry',
          match: { path_prefix: '/api/catalog/', headers: { 'x-test-retry': 'none' } },
          retry: { attempts: 1 },
        },
        {
          name: 'product',
          match: { methods: ['GET'], path: '/api/catalog/products/:id' },
          timeout_ms: 300,
          retry: { attempts: 3 },
        },
        { name: 'catalog', match: { path_prefix: '/api/catalog/' } },
        { name: 'legacy-found', match: { path_prefix: '/found/' }, proxy: 'legacy-found' },
        { name: 'shop', match: { path_prefix: '/shop/api/' }, proxy: 'legacy', strip_prefix: '/shop' },
        { name: 'absent', match: { path_prefix: '/absent/' }, proxy: 'absent' },
        {
          name: 'legacy-admin',
          match: { path_prefix: '/legacy/admin/' },
          proxy: 'legacy',
          auth: 'required',
          roles: ['admin'],
        },
        {
          name: 'legacy',
          match: { path_prefix: '/legacy/' },
          proxy: 'legacy',
          rate_limit: { policy: 'fixed_window:3/60000', key: 'api_key' },
        },
        {
          name: 'storefront',
          match: { path_prefix: '/api/storefront/' },
          rate_limit: { policy: 'fixed_window:4/60000', key: 'user' },
        },
      ],
    };
    writeTable(document);
    gateway = await createService(gatewayDefinition, {
      PORT: '0',
      LOG_LEVEL: 'silent',
      GATEWAY_ROUTES_FILE: routesFile,
      MERCATO_PEERS: `legacy-shop/http=${stoppedInstance} ${legacy}`,
      GATEWAY_API_KEYS: `partner-a:${API_KEY},partner-b:${'b'.repeat(32)}`,
      GATEWAY_COMPOSITION_PART_TIMEOUT_MS: '300',
      IDENTITY_URL: issuer.url,
      RPC_RETRY_INITIAL_DELAY_MS: '10',
      RPC_RETRY_MAX_DELAY_MS: '20',
    });
    url = await gateway.start();
  });
  afterAll(async () => {
    await gateway?.stop();
    for (const server of grpcServers) await server.close(100);
    for (const server of httpServers) await server.close();
    await issuer?.close();
  });

  const categories = async (count: number, headers: Record<string, string> = {}) => {
    const seen = new Map<string, number>();
    for (let i = 0; i < count; i += 1) {
      const response = await fetch(`${url}/api/catalog/categories`, { headers });
      expect(response.status).toBe(200);
      const { items } = (await response.json()) as { items: Array<{ slug: string }> };
      const label = items[0]?.slug ?? '?';
      seen.set(label, (seen.get(label) ?? 0) + 1);
    }
    return Object.fromEntries(seen);
  };

  it('splits a cluster’s traffic by weight, and a header match sends all of it to the canary', async () => {
    const split = await categories(400);
    expect(split.v1).toBeGreaterThan(240);
    expect(split.v2).toBeGreaterThan(40);
    expect((split.v1 ?? 0) + (split.v2 ?? 0)).toBe(400);
    expect(await categories(20, { 'x-mercato-canary': 'always' })).toEqual({ canary: 20 });
  });

  it('reloads the table when the file changes, and keeps the old one when the new file is bad', async () => {
    const clusters = document.clusters as Record<string, { backends: Array<{ weight: number }> }>;
    const [v1, v2] = clusters.catalog?.backends ?? [];
    if (!v1 || !v2) throw new Error('catalog backends missing');
    writeTable({
      ...document,
      clusters: { ...clusters, catalog: { protocol: 'grpc', backends: [{ ...v1, weight: 0 }, v2] } },
    });
    await waitFor('routing table v2', async () => (await gauge('gateway_route_table_version')) === 2);
    expect(await categories(20)).toEqual({ v2: 20 });

    writeFileSync(routesFile, '{ "clusters": {}, "routes": [');
    await waitFor(
      'refused reload',
      async () => (await gauge('gateway_route_table_reloads_total', { result: 'refused' })) >= 1,
    );
    expect(await gauge('gateway_route_table_version')).toBe(2);
    expect(await categories(10)).toEqual({ v2: 10 });
    writeTable(document);
    await waitFor('routing table v3', async () => (await gauge('gateway_route_table_version')) === 3);

    // SIGHUP re-reads the file even when nothing watched it change.
    process.kill(process.pid, 'SIGHUP');
    await waitFor('reload on SIGHUP', async () => (await gauge('gateway_route_table_version')) === 4);
    expect(await gauge('gateway_route_table_reloads_total', { result: 'applied' })).toBe(3);
  });

  it('applies a route’s retry attempts and timeout to its upstream calls', async () => {
    state.flakyCalls = 0;
    const retried = await fetch(`${url}/api/catalog/products/flaky`);
    expect(retried.status).toBe(200);
    expect(state.flakyCalls).toBe(3);

    state.flakyCalls = 0;
    const once = await fetch(`${url}/api/catalog/products/flaky`, { headers: { 'x-test-retry': 'none' } });
    expect(once.status).toBe(503);
    expect(state.flakyCalls).toBe(1);

    const started = Date.now();
    const slow = await fetch(`${url}/api/catalog/products/slow`);
    expect(slow.status).toBe(504);
    // The route's 300 ms, not the gateway's 5 s deadline or the 3 s call timeout.
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('passes the request id and the verified user to upstreams', async () => {
    await fetch(`${url}/api/catalog/products/p1`, { headers: { 'x-request-id': 'req_from_client_1' } });
    expect(state.requestIds).toContain('req_from_client_1');
    const token = await issuer.tokenFor('usr_ada');
    await fetch(`${url}/api/customers/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(state.userIds).toContain('usr_ada');
  });

  it('proxies to the instances discovery finds, and leaves out one that refuses connections', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 30; i += 1) statuses.push((await fetch(`${url}/found/items/${i}`)).status);
    // The stopped instance fails the requests sent to it before it is ejected (a refused
    // connection ejects it at once, for 250 ms, doubling while it keeps refusing): a few at most.
    expect(statuses.filter((status) => status !== 200).every((status) => status === 502)).toBe(true);
    expect(statuses.filter((status) => status === 200).length).toBeGreaterThanOrEqual(27);
    expect(
      await gauge('rpc_client_ejections_total', { dependency: 'legacy-shop', reason: 'unreachable' }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('answers a proxied request whose query is not valid percent-encoding with a 400, not a 500', async () => {
    const response = await fetch(`${url}/found/items?q=%E0%A4`);
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
  });

  it('proxies an http route as it is, counted per API key', async () => {
    const headers = {
      'x-api-key': API_KEY,
      'content-type': 'application/json',
      'x-correlation-id': 'corr_legacy_1',
      accept: 'text/plain',
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    };
    // The budget is a fixed window, a calendar minute: this test's four calls with API_KEY must
    // fall in one, or the last is counted afresh and passes (CI, 6 December).
    await fitInFixedWindow(60_000, 10_000);
    const response = await fetch(`${url}/legacy/orders?page=2`, { method: 'POST', headers, body: '{"a":1}' });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      method: 'POST',
      url: '/legacy/orders?page=2',
      body: { a: 1 },
      correlation: 'corr_legacy_1',
      // The client's Accept goes through; its traceparent does not (the tracing SDK adds the
      // gateway's own, and there is no SDK in this test process).
      accept: 'text/plain',
      traceparents: [],
    });
    const tooLarge = await fetch(`${url}/legacy/upload`, {
      method: 'POST',
      headers: { 'x-api-key': 'b'.repeat(32), 'content-type': 'application/octet-stream' },
      body: Buffer.alloc(2 * 1024 * 1024),
    });
    expect(tooLarge.status).toBe(413);
    expect((await json<Problem>(tooLarge)).code).toBe('HTTP.PAYLOAD_TOO_LARGE');
    // The same without a length up front: counted as it streams through, cut at the limit.
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 32; i += 1) controller.enqueue(new Uint8Array(64 * 1024));
        controller.close();
      },
    });
    const chunked = await fetch(`${url}/legacy/upload`, {
      method: 'POST',
      headers: { 'x-api-key': 'b'.repeat(32), 'content-type': 'application/octet-stream' },
      body: chunks,
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect((await json<Problem>(chunked)).code).toBe('HTTP.PAYLOAD_TOO_LARGE');
    const statuses: number[] = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await fetch(`${url}/legacy/x`, { headers })).status);
    expect(statuses).toEqual([200, 200, 429]);
    // Another client has its own budget; a key we do not know is refused outright.
    expect((await fetch(`${url}/legacy/x`, { headers: { 'x-api-key': 'b'.repeat(32) } })).status).toBe(200);
    const unknown = await fetch(`${url}/legacy/x`, { headers: { 'x-api-key': 'z'.repeat(32) } });
    expect(unknown.status).toBe(401);
    expect((await json<Problem>(unknown)).code).toBe('AUTH.INVALID_API_KEY');
    expect((await fetch(`${url}/nowhere`)).status).toBe(404);

    // A guarded proxy route: no token 401, a customer 403, an admin gets through.
    const admin = (token?: string) =>
      fetch(`${url}/legacy/admin/report`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    expect((await admin()).status).toBe(401);
    expect((await admin(await issuer.tokenFor('usr_a'))).status).toBe(403);
    expect((await admin(await issuer.tokenFor('usr_root', ['admin']))).status).toBe(200);
  });

  it('forwards a stripped path and puts the prefix back on the Location answered', async () => {
    const created = await fetch(`${url}/shop/api/created?page=2`, { method: 'POST' });
    expect(created.headers.get('location')).toBe('/shop/api/customers/7');
    expect(await created.json()).toMatchObject({ method: 'POST', url: '/api/created?page=2' });
    // The cut is made on the path the route matched, whatever its case or encoding.
    for (const variant of ['/SHOP/api/x', '/%73hop/api/x']) {
      const response = await fetch(`${url}${variant}`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ url: '/api/x' });
    }
    // A proxy route to a service that is not running: 503 naming it.
    const absent = await fetch(`${url}/absent/x`);
    expect(absent.status).toBe(503);
    expect((await json<Problem>(absent)).code).toBe('ABSENT.UNAVAILABLE');
  });

  describe('the customer dashboard', () => {
    const dashboard = async (id: string, token?: string) =>
      fetch(`${url}/api/customers/${id}/dashboard`, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });

    it('gives a customer their own dashboard, with the parts that failed named in degraded', async () => {
      const started = Date.now();
      const response = await dashboard('usr_a', await issuer.tokenFor('usr_a'));
      expect(response.status).toBe(200);
      const body = await json<{
        profile: unknown;
        orders: unknown;
        recommendations: unknown;
        degraded: unknown;
      }>(response);
      expect(body.profile).toMatchObject({ id: 'usr_a', name: 'Customer usr_a' });
      expect(body.orders).toBeNull();
      expect(body.recommendations).toBeNull();
      expect(body.degraded).toEqual(
        expect.arrayContaining([
          { part: 'orders', reason: 'not_deployed' },
          { part: 'recommendations', reason: 'timeout' },
        ]),
      );
      // The slow part (2 s) was cut at its 300 ms deadline.
      expect(Date.now() - started).toBeLessThan(1_500);
    });

    it('refuses another customer’s dashboard, and answers an admin', async () => {
      const other = await dashboard('usr_b', await issuer.tokenFor('usr_a'));
      expect(other.status).toBe(403);
      expect((await json<Problem>(other)).code).toBe('AUTH.FORBIDDEN');
      expect((await dashboard('usr_b')).status).toBe(401);
      expect((await dashboard('usr_b', await issuer.tokenFor('usr_admin', ['admin']))).status).toBe(200);
    });
  });

  describe('the storefront BFF', () => {
    it('returns a catalog page with prices and stock, and degrades prices when pricing is down', async () => {
      const page = await json<{ items: Card[]; degraded: unknown }>(
        await fetch(`${url}/api/storefront/products`),
      );
      expect(page.items).toHaveLength(2);
      expect(page.items[0]).toMatchObject({
        sku: 'KIT-0001',
        price: { currency: 'EUR', unit_price_minor: 1000, price_minor: 1000 },
        stock: { available: 7, in_stock: true },
      });
      expect(page.items[1]?.stock).toEqual({ available: 0, in_stock: false });
      expect(page.degraded).toEqual([]);

      state.pricingDown = true;
      try {
        const degraded = await json<Card & { degraded: unknown }>(
          await fetch(`${url}/api/storefront/products/p1`),
        );
        expect(degraded).toMatchObject({ sku: 'KIT-0001', price: null, stock: { available: 7 } });
        expect(degraded.degraded).toEqual([
          { part: 'prices', reason: 'unavailable', code: 'PRICING.UNAVAILABLE' },
        ]);
      } finally {
        state.pricingDown = false;
      }
    });

    it('checks out a signed-in customer through CreateOrder, idempotently, and limits each user separately', async () => {
      const token = await issuer.tokenFor('usr_c');
      const checkout = (key?: string, bearer: string | null = token) =>
        fetch(`${url}/api/storefront/checkout`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
            ...(key ? { 'idempotency-key': key } : {}),
          },
          body: JSON.stringify({ items: [{ sku: 'kit-0001', quantity: 2 }], shipping_address: '1 Main St' }),
        });
      // The limit is a fixed window, a calendar minute: a sequence that straddles its end starts
      // counting again (CI, 5 December). Start where the whole sequence fits before the boundary.
      await fitInFixedWindow(60_000, 5_000);
      const first = await checkout('basket-0001');
      expect(first.status).toBe(202);
      const body = await json<{
        order_id: string;
        customer_id: string;
        total_minor: number;
        lines: unknown[];
      }>(first);
      expect(body).toMatchObject({ customer_id: 'usr_c', status: 'pending', total_minor: 2000 });
      expect(body.lines).toEqual([{ sku: 'KIT-0001', quantity: 2, unit_price_minor: 1000 }]);
      const again = await checkout('basket-0001');
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect((await json<{ order_id: string }>(again)).order_id).toBe(body.order_id);
      expect((await checkout(undefined)).status).toBe(400);
      // usr_c has used 3 of 4; the fourth call passes, the fifth is limited; usr_d is not.
      expect((await checkout('basket-0002')).status).toBe(202);
      expect((await checkout('basket-0003')).status).toBe(429);
      expect((await checkout('basket-0004', await issuer.tokenFor('usr_d'))).status).toBe(202);
      expect((await checkout('basket-0005', null)).status).toBe(401);
    });
  });
});
