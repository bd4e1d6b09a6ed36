import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Code, ConnectError } from '@connectrpc/connect';
import { createService, type GrpcServer, type Service } from '@mercato/chassis';
import { startGrpcStub, startTokenIssuer, waitFor } from '@mercato/chassis/testing';
import { CatalogService } from '@mercato/contracts/grpc/catalog';
import { InventoryService } from '@mercato/contracts/grpc/inventory';
import { PricingService } from '@mercato/contracts/grpc/pricing';
import fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayConfig } from '../src/config.ts';
import { gatewayDefinition } from '../src/gateway.service.ts';

interface LegacyProduct {
  id: number;
  sku: string;
  name: string;
  priceCents: number;
  stockQuantity: number;
  updatedAt: string;
}

const long = '2024-01-01T00:00:00.000Z';
const sku = (id: number) => `LEG-${String(id).padStart(4, '0')}`;
/** 120 products: the services' list takes two pages of catalog's. */
const monolithRows = new Map<number, LegacyProduct>(
  Array.from({ length: 120 }, (_, index) => {
    const id = index + 1;
    return [
      id,
      {
        id,
        sku: sku(id),
        name: `Legacy product ${id}`,
        priceCents: 100 + id,
        stockQuantity: 1_000 + id,
        updatedAt: long,
      },
    ];
  }),
);
/** What the services hold: the same, except product 2's name (a take-over fault) and 3's stock (an order just taken). */
const servicesRows = new Map([...monolithRows].map(([id, row]) => [id, { ...row }]));
(servicesRows.get(2) as LegacyProduct).name = 'Wrong name';
(servicesRows.get(3) as LegacyProduct).stockQuantity -= 2;
const bySku = new Map([...servicesRows.values()].map((row) => [row.sku, row]));
const calls = { monolith: 0, catalog: 0, pricing: 0, inventory: 0 };
const ADMIN_TOKEN = 'a'.repeat(43);

const catalogProduct = (row: LegacyProduct) => ({
  id: `prd_legacy_${row.id}`,
  sku: row.sku,
  name: row.name,
  description: '',
  categorySlug: 'legacy',
  createdAt: long,
  updatedAt: row.updatedAt,
});

describe('the monolith’s catalog reads, moved by the routing table (strangler fig, phase 3)', () => {
  const routesFile = join(mkdtempSync(join(tmpdir(), 'gateway-legacy-products-')), 'routes.json');
  let grpc: GrpcServer;
  let monolith: FastifyInstance;
  let issuer: Awaited<ReturnType<typeof startTokenIssuer>>;
  let gateway: Service<GatewayConfig>;
  let url = '';
  let grpcUrl = '';
  let monolithUrl = '';
  let admin: Record<string, string> = {};

  const table = (experiment: unknown) => {
    const grpcCluster = { protocol: 'grpc', backends: [{ name: 'stub', url: grpcUrl }] };
    const clusters: Record<string, unknown> = Object.fromEntries(
      ['catalog', 'identity', 'customer', 'pricing', 'inventory', 'order', 'fulfillment', 'notification'].map(
        (name) => [name, grpcCluster],
      ),
    );
    clusters.legacy = { protocol: 'http', backends: [{ url: monolithUrl }] };
    const reads = [
      { name: 'legacy-product-list', match: { methods: ['GET'], path: '/legacy/api/products' } },
      { name: 'legacy-product-reads', match: { methods: ['GET'], path: '/legacy/api/products/:id' } },
    ];
    writeFileSync(
      routesFile,
      JSON.stringify({
        clusters,
        routes: [
          ...(experiment ? reads.map((route) => ({ ...route, experiment })) : []),
          {
            name: 'legacy',
            match: { path_prefix: '/legacy/api/' },
            proxy: 'legacy',
            strip_prefix: '/legacy',
          },
        ],
      }),
    );
  };

  beforeAll(async () => {
    issuer = await startTokenIssuer();
    admin = { authorization: `Bearer ${await issuer.tokenFor('usr_root', ['admin'])}` };
    const stub = await startGrpcStub((router) => {
      router.service(CatalogService, {
        getProduct: (request) => {
          calls.catalog += 1;
          const row = servicesRows.get(Number(request.id.replace('prd_legacy_', '')));
          if (!row) throw new ConnectError(`no product ${request.id}`, Code.NotFound);
          return { product: catalogProduct(row) };
        },
        listProducts: (request) => {
          calls.catalog += 1;
          // Catalog lists by name; one product filed under `legacy` is not the monolith's.
          const all = [
            ...[...servicesRows.values()].map(catalogProduct),
            { ...catalogProduct(servicesRows.get(1) as LegacyProduct), id: 'prd_own', sku: 'OWN-0001' },
          ].sort((a, b) => a.name.localeCompare(b.name));
          const start = (request.page - 1) * request.pageSize;
          return {
            products: all.slice(start, start + request.pageSize),
            page: request.page,
            pageSize: request.pageSize,
            total: all.length,
          };
        },
      });
      router.service(PricingService, {
        calculateQuote: (request) => {
          calls.pricing += 1;
          if (request.items.length > 100) throw new ConnectError('too many items', Code.InvalidArgument);
          return {
            currency: 'EUR',
            lines: request.items.map((item) => ({
              sku: item.sku,
              quantity: item.quantity,
              unitPriceMinor: BigInt(bySku.get(item.sku)?.priceCents ?? 1),
            })),
          };
        },
      });
      router.service(InventoryService, {
        getStockLevels: (request) => {
          calls.inventory += 1;
          return {
            stocks: request.skus.flatMap((wanted) => {
              const row = bySku.get(wanted);
              return row ? [{ sku: wanted, available: row.stockQuantity, reserved: 0 }] : [];
            }),
          };
        },
      });
    });
    grpc = stub.server;
    grpcUrl = stub.url;
    monolith = fastify();
    monolith.get('/api/products', async () => {
      calls.monolith += 1;
      return { items: [...monolithRows.values()] };
    });
    monolith.get<{ Params: { id: string } }>('/api/products/:id', async (request, reply) => {
      calls.monolith += 1;
      const row = monolithRows.get(Number(request.params.id));
      if (row) return row;
      return reply
        .code(404)
        .type('application/problem+json')
        .send({
          code: 'LEGACY.NOT_FOUND',
          detail: `Product ${request.params.id} does not exist`,
          status: 404,
        });
    });
    await monolith.listen({ host: '127.0.0.1', port: 0 });
    monolithUrl = `http://127.0.0.1:${(monolith.server.address() as AddressInfo).port}`;
    table(undefined);
    gateway = await createService(gatewayDefinition, {
      PORT: '0',
      LOG_LEVEL: 'silent',
      GATEWAY_ROUTES_FILE: routesFile,
      IDENTITY_URL: issuer.url,
      MERCATO_ADMIN_TOKEN: ADMIN_TOKEN,
    });
    url = await gateway.start();
  });
  afterAll(async () => {
    await gateway?.stop();
    await grpc?.close(100);
    await monolith?.close();
    await issuer?.close();
  });

  const read = async (path: string, headers = admin) => {
    const response = await fetch(`${url}/legacy/api/products${path}`, { headers });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const report = async (name: string) => {
    const response = await fetch(`${url}/admin/experiments?limit=5`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const { experiments } = (await response.json()) as { experiments: Array<Record<string, unknown>> };
    return experiments.find((experiment) => experiment.name === name) ?? {};
  };
  const servicesAsked = async () => {
    const before = calls.catalog;
    await read('/1');
    return calls.catalog > before;
  };
  const phase = async (experiment: unknown, took: () => Promise<boolean>) => {
    table(experiment);
    await waitFor('the routing table reloaded', took, 5_000, 50);
  };

  it('phase 1: the paths are proxied to the monolith; the services are not asked', async () => {
    const before = { ...calls };
    expect(await read('/2')).toEqual({ status: 200, body: monolithRows.get(2) });
    expect((await read('')).body.items).toHaveLength(120);
    expect(calls).toEqual({ ...before, monolith: before.monolith + 2 });
  });

  it('shadow: the monolith answers, the services’ composition is compared, the one real difference reported', async () => {
    await phase({ mode: 'shadow' }, servicesAsked);
    await waitFor(
      'the first comparison recorded',
      async () => (await report('legacy-product-reads')).compared !== 0,
    );
    const { compared } = await report('legacy-product-reads');
    for (const id of [1, 2, 3, 999]) {
      const answer = await read(`/${id}`);
      if (id === 999) expect(answer).toMatchObject({ status: 404, body: { code: 'LEGACY.NOT_FOUND' } });
      else expect(answer).toEqual({ status: 200, body: monolithRows.get(id) });
    }
    expect((await read('')).body.items).toEqual([...monolithRows.values()]);
    await waitFor('every comparison recorded', async () => {
      const [one, list] = [await report('legacy-product-reads'), await report('legacy-product-list')];
      return one.compared === Number(compared) + 4 && list.compared === 1;
    });
    // 1 and the 404 match; 3 differs in stock only (the monolith's shelf moves with its orders); 2 is the fault.
    const one = await report('legacy-product-reads');
    expect(one).toMatchObject({ mismatches: 1, ignored: 1, candidate_errors: 0 });
    expect((one.recent as unknown[])[0]).toMatchObject({
      subject: '2',
      control: { name: 'Legacy product 2' },
      candidate: { name: 'Wrong name' },
    });
    // The list holds product 2 too: a difference, reported whole.
    expect(await report('legacy-product-list')).toMatchObject({
      compared: 1,
      mismatches: 1,
      candidate_errors: 0,
    });
  });

  it('candidate at 100 %: the services answer alone, catalog, pricing and inventory composed, in the monolith’s order', async () => {
    await phase(
      { mode: 'candidate', candidate_percent: 100 },
      async () => (await read('/2')).body.name === 'Wrong name',
    );
    const before = { ...calls };
    expect(await read('/3')).toEqual({ status: 200, body: servicesRows.get(3) });
    expect(await read('/999')).toMatchObject({ status: 404, body: { code: 'LEGACY.NOT_FOUND' } });
    const list = await read('');
    expect(list).toEqual({ status: 200, body: { items: [...servicesRows.values()] } });
    expect(calls.monolith).toBe(before.monolith);
    // The list: two pages of catalog's (121 products, one not the monolith's), a quote and a read of each.
    expect(calls.pricing - before.pricing).toBe(1 + 2);
    // At 0 %, every product in shadow again: the monolith answers.
    await phase(
      { mode: 'candidate', candidate_percent: 0 },
      async () => (await read('/2')).body.name === 'Legacy product 2',
    );
    expect((await read('')).body.items).toEqual([...monolithRows.values()]);
  });

  it('lets only the shop’s operators read, and refuses a malformed id before asking anyone', async () => {
    const customer = { authorization: `Bearer ${await issuer.tokenFor('usr_legacy_3')}` };
    expect((await read('/3', customer)).status).toBe(403);
    expect((await read('', {})).status).toBe(401);
    // The last shadow comparisons may still be asking the services.
    let settled = JSON.stringify(calls);
    await waitFor('the services no longer asked', async () => {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const now = JSON.stringify(calls);
      const quiet = now === settled;
      settled = now;
      return quiet;
    });
    const before = { ...calls };
    for (const bad of ['0', 'abc', '1e3', '9007199254740993'])
      expect((await read(`/${bad}`)).status).toBe(400);
    expect(calls).toEqual(before);
  });
});
