import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConnectRouter } from '@connectrpc/connect';
import { createService, type GrpcServer, type Service } from '@mercato/chassis';
import { rawRequest, startGrpcStub, startTokenIssuer } from '@mercato/chassis/testing';
import { CatalogService } from '@mercato/contracts/grpc/catalog';
import { IdentityService } from '@mercato/contracts/grpc/identity';
import fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { GatewayConfig } from '../src/config.ts';
import { gatewayDefinition } from '../src/gateway.service.ts';
import { fitInFixedWindow } from './support/fixed-window.ts';

const upstreamRoutes = (router: ConnectRouter) => {
  router.service(CatalogService, {
    listCategories: () => ({ categories: [{ slug: 'kitchen', name: 'K' }] }),
  });
  router.service(IdentityService, { getJwks: () => ({ keys: [] }) });
};

// Spellings of /legacy/admin/panel that a router or an upstream may act on as that path.
const disguises = [
  '/legacy/%61dmin/panel',
  '/%6cegacy/admin/panel',
  '//legacy/admin/panel',
  '/legacy//admin/panel',
  '/legacy/./admin/panel',
  '/legacy/x/../admin/panel',
  '/legacy/x/%2e%2e/admin/panel',
  '/LEGACY/ADMIN/panel',
  '/Legacy/Admin/panel',
  '/legacy/admin/panel/',
];
// Spellings refused before any route is matched.
const refused = [
  '/legacy%2fadmin/panel',
  '/legacy/admin%2Fpanel',
  '/legacy/admin%5cpanel',
  '/legacy/%2561dmin/panel',
  '/legacy/admin;jsessionid=1/panel',
  '/legacy/admin/panel%00',
  '/legacy/admin/panel%0d%0a',
  '/legacy/%c0%ae%c0%ae/admin/panel',
  '/legacy/../../admin',
];

/**
 * The gateway matches its routing table on the one canonical path the router and the upstream act
 * on: a route's auth, roles and rate limit hold under every spelling of its path, and a proxied
 * upstream receives that canonical path.
 */
describe('route policies under encoded and non-canonical paths', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-paths-'));
  const routesFile = join(dir, 'routes.json');
  const seen: string[] = [];
  let issuer: Awaited<ReturnType<typeof startTokenIssuer>>;
  let grpc: GrpcServer;
  let legacy: FastifyInstance;
  let gateway: Service<GatewayConfig>;
  let url = '';

  beforeAll(async () => {
    issuer = await startTokenIssuer();
    const stub = await startGrpcStub(upstreamRoutes);
    grpc = stub.server;
    legacy = fastify();
    legacy.all('/*', async (request) => {
      seen.push(`${request.method} ${request.url}`);
      return { url: request.url };
    });
    await legacy.listen({ host: '127.0.0.1', port: 0 });
    const legacyUrl = `http://127.0.0.1:${(legacy.server.address() as AddressInfo).port}`;
    const cluster = { protocol: 'grpc', backends: [{ url: stub.url }] };
    writeFileSync(
      routesFile,
      JSON.stringify({
        clusters: {
          catalog: cluster,
          identity: cluster,
          customer: cluster,
          pricing: cluster,
          inventory: cluster,
          order: cluster,
          fulfillment: cluster,
          notification: cluster,
          legacy: { protocol: 'http', backends: [{ url: legacyUrl }] },
        },
        routes: [
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
            rate_limit: { policy: 'fixed_window:3/60000', key: 'ip' },
          },
          {
            name: 'catalog',
            match: { path_prefix: '/api/catalog/' },
            rate_limit: { policy: 'fixed_window:1000/60000', key: 'ip' },
          },
        ],
      }),
    );
    gateway = await createService(gatewayDefinition, {
      PORT: '0',
      LOG_LEVEL: 'silent',
      GATEWAY_ROUTES_FILE: routesFile,
      IDENTITY_URL: issuer.url,
    });
    url = await gateway.start();
  });
  afterAll(async () => {
    await gateway?.stop();
    await grpc?.close(100);
    await legacy?.close();
    await issuer?.close();
  });
  beforeEach(() => {
    seen.length = 0;
  });

  const bearer = async (roles: string[]) => ({
    authorization: `Bearer ${await issuer.tokenFor('usr_a', roles)}`,
  });

  it.each(disguises)('%s needs the admin role, as /legacy/admin/ does', async (target) => {
    const anonymous = await rawRequest(url, target, { method: 'POST', body: { wipe: true } });
    expect(anonymous.status).toBe(401);
    const customer = await rawRequest(url, target, {
      method: 'POST',
      body: { wipe: true },
      headers: await bearer(['customer']),
    });
    expect(customer.status).toBe(403);
    expect(seen).toEqual([]);
  });

  it('forwards the canonical path, and only that, once the route lets a request through', async () => {
    const headers = await bearer(['admin']);
    for (const target of ['/legacy/%61dmin/panel', '/legacy/x/%2e%2e/admin/panel', '//legacy/admin/panel'])
      expect((await rawRequest(url, target, { headers })).json()).toEqual({ url: '/legacy/admin/panel' });
    expect(seen).toEqual(Array(3).fill('GET /legacy/admin/panel'));
  });

  it.each(refused)('refuses %s with 400 before any route, token or upstream is consulted', async (target) => {
    for (const headers of [{}, await bearer(['admin'])]) {
      const answer = await rawRequest(url, target, { method: 'POST', body: { wipe: true }, headers });
      expect(answer.status).toBe(400);
      expect(answer.json()).toMatchObject({ code: 'HTTP.BAD_PATH', status: 400 });
    }
    expect(seen).toEqual([]);
  });

  it('counts every spelling of a path against the same rate limit', async () => {
    const spellings = [
      '/legacy/panel',
      '/legacy/%70anel',
      '/legacy/x/../panel',
      '//legacy/panel',
      '/LEGACY/panel',
    ];
    // The budget is a calendar minute: all five must fall in one, or the fourth counts afresh.
    await fitInFixedWindow(60_000, 5_000);
    const statuses: number[] = [];
    for (const target of spellings) {
      const answer = await rawRequest(url, target, { headers: { 'x-forwarded-for': '203.0.113.9' } });
      statuses.push(answer.status);
      expect(answer.headers['ratelimit-policy']).toBe('3;w=60');
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(seen.length).toBe(3);
  });

  it('gives a handler route its policy under an encoded path too', async () => {
    const answer = await rawRequest(url, '/%61pi/catalog/categories');
    expect(answer.status).toBe(200);
    expect(answer.headers['ratelimit-policy']).toBe('1000;w=60');
  });
});
