import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { routeTableDocument } from './route-table.schema.ts';
import { pickBackend, type RequestFacts, RouteTable } from './route-table.ts';
import { readRouteTable } from './route-table-file.ts';

const grpc = (url: string) => ({ protocol: 'grpc', backends: [{ url }] });
const baseClusters = {
  catalog: {
    protocol: 'grpc',
    backends: [
      { name: 'catalog-v1', url: 'http://v1:5001', weight: 3 },
      { name: 'catalog-v2', url: 'http://v2:5001', weight: 1 },
    ],
  },
  'catalog-canary': grpc('http://canary:5001'),
  identity: grpc('http://identity:5002'),
  customer: grpc('http://customer:5003'),
  pricing: grpc('http://pricing:5004'),
  inventory: grpc('http://inventory:5005'),
  order: grpc('http://order:5007'),
  fulfillment: grpc('http://fulfillment:5009'),
  notification: grpc('http://notification:5010'),
  legacy: { protocol: 'http', backends: [{ url: 'http://legacy:9000' }] },
};

const table = (routes: unknown[]) =>
  new RouteTable(routeTableDocument.parse({ clusters: baseClusters, routes }), 1);

const facts = (
  overrides: Partial<Omit<RequestFacts, 'header'>> & { headers?: Record<string, string> } = {},
) => ({
  method: overrides.method ?? 'GET',
  path: overrides.path ?? '/api/catalog/products',
  template: overrides.template ?? overrides.path ?? '/api/catalog/products',
  host: overrides.host ?? 'shop.example',
  header: (name: string) => overrides.headers?.[name],
});

describe('the routing table', () => {
  const routes = table([
    {
      name: 'canary',
      match: { path_prefix: '/api/catalog/', headers: { 'X-Mercato-Canary': 'always' } },
      clusters: { catalog: 'catalog-canary' },
    },
    { name: 'admin-host', match: { host: '*.admin.example' }, timeout_ms: 500 },
    {
      name: 'dashboard',
      match: { methods: ['GET'], path: '/api/customers/:id/dashboard' },
      retry: { attempts: 1 },
    },
    { name: 'legacy', match: { path_prefix: '/legacy/' }, proxy: 'legacy' },
    {
      name: 'catalog',
      match: { methods: ['GET'], path_prefix: '/api/catalog/' },
      rate_limit: { policy: 'token_bucket:5/1000' },
    },
  ]);

  it('takes the first route that matches, in order', () => {
    expect(routes.match(facts()).name).toBe('catalog');
    expect(routes.match(facts({ headers: { 'x-mercato-canary': 'always' } })).name).toBe('canary');
    expect(routes.match(facts({ headers: { 'x-mercato-canary': 'never' } })).name).toBe('catalog');
  });

  it('matches methods, route templates, prefixes and host wildcards', () => {
    expect(routes.match(facts({ method: 'POST' })).name).toBe('unmatched');
    expect(
      routes.match(facts({ path: '/api/customers/u1/dashboard', template: '/api/customers/:id/dashboard' }))
        .name,
    ).toBe('dashboard');
    expect(routes.match(facts({ path: '/api/customers/u1/dashboard', template: '/*' })).name).toBe(
      'unmatched',
    );
    expect(routes.match(facts({ host: 'ops.admin.example' })).name).toBe('admin-host');
    expect(routes.match(facts({ host: 'admin.example.evil' })).name).toBe('catalog');
    expect(routes.match(facts({ path: '/legacy/orders/1', template: '/*' })).proxy?.name).toBe('legacy');
  });

  it('carries each route’s policies and cluster overrides', () => {
    const catalog = routes.match(facts());
    expect(catalog.rateLimit).toEqual({
      policy: { algorithm: 'token_bucket', limit: 5, windowMs: 1000 },
      key: 'ip',
    });
    expect(catalog.clusterFor('catalog')?.backends.map((b) => b.name)).toEqual(['catalog-v1', 'catalog-v2']);
    expect(
      routes.match(facts({ headers: { 'x-mercato-canary': 'always' } })).clusterFor('catalog')?.name,
    ).toBe('catalog-canary');
    expect(routes.match(facts({ host: 'a.admin.example' })).timeoutMs).toBe(500);
    expect(routes.match(facts({ path: '/legacy/x', template: '/*' })).auth).toEqual({
      required: false,
      roles: [],
    });
    expect(routes.fallback).toMatchObject({
      rateLimit: undefined,
      timeoutMs: undefined,
      retryAttempts: undefined,
    });
  });

  it('splits traffic by weight and never picks a backend of weight 0', () => {
    const cluster = routes.clusters.get('catalog');
    if (!cluster) throw new Error('catalog cluster missing');
    const counts = new Map<string, number>();
    for (let i = 0; i < 1000; i += 1) {
      const name = pickBackend(cluster, () => i / 1000).name;
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    expect(Object.fromEntries(counts)).toEqual({ 'catalog-v1': 750, 'catalog-v2': 250 });
    const drained = {
      ...cluster,
      backends: cluster.backends.map((b, i) => ({ ...b, weight: i === 0 ? 0 : 1 })),
    };
    for (let i = 0; i < 100; i += 1) expect(pickBackend(drained, () => i / 100).name).toBe('catalog-v2');
  });
});

describe('the routing table file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'routes-'));
  const write = (name: string, content: unknown) => {
    const file = join(dir, name);
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
    return file;
  };

  it('fills variables ($ and a NAME in braces) from the ones it is given', () => {
    const file = write('ok.json', {
      clusters: { ...baseClusters, catalog: grpc(`\${CATALOG_GRPC_URL}`) },
      routes: [{ name: 'api', match: { path_prefix: '/api/' }, rate_limit: { policy: `\${LIMIT}` } }],
    });
    const loaded = readRouteTable(file, { CATALOG_GRPC_URL: 'http://127.0.0.1:7001', LIMIT: 'off' }, 3);
    expect(loaded.version).toBe(3);
    expect(loaded.clusters.get('catalog')?.backends[0]?.url).toBe('http://127.0.0.1:7001');
    expect(loaded.match(facts()).rateLimit).toBeUndefined();
  });

  it('names the file and every problem in one line', () => {
    const cases: Array<[unknown, RegExp]> = [
      ['{ not json', /ok|JSON|Expected/],
      [
        { clusters: { ...baseClusters, catalog: grpc(`\${MISSING}`) }, routes: [] },
        /\$\{MISSING\} is not set/,
      ],
      [
        { clusters: { ...baseClusters, pricing: undefined }, routes: [] },
        /clusters\.pricing: a grpc cluster named pricing is required/,
      ],
      [
        { clusters: baseClusters, routes: [{ name: 'x', match: {}, proxy: 'catalog' }] },
        /routes\.0\.proxy: proxy needs an http cluster; catalog is not one/,
      ],
      [
        {
          clusters: baseClusters,
          routes: [{ name: 'x', match: {}, rate_limit: { policy: 'token_bucket:0/1' } }],
        },
        /routes\.0\.rate_limit\.policy: expected one of/,
      ],
      [
        {
          clusters: {
            ...baseClusters,
            legacy: { protocol: 'http', backends: [{ url: 'http://a', weight: 0 }] },
          },
          routes: [],
        },
        /clusters\.legacy: needs a backend with weight > 0/,
      ],
      [
        { clusters: baseClusters, routes: [{ name: 'x', match: {}, colour: 'red' }] },
        /routes\.0: Unrecognized key/,
      ],
      [
        {
          clusters: baseClusters,
          routes: [
            {
              name: 'x',
              match: { path_prefix: '/legacy/' },
              proxy: 'legacy',
              experiment: { mode: 'shadow' },
            },
          ],
        },
        /routes\.0\.experiment: a proxy route never reaches a handler: no experiment/,
      ],
      [
        {
          clusters: baseClusters,
          routes: [{ name: 'x', match: {}, experiment: { mode: 'candidate', candidate_percent: 101 } }],
        },
        /routes\.0\.experiment\.candidate_percent/,
      ],
      [
        {
          clusters: baseClusters,
          routes: [{ name: 'x', match: { path_prefix: '/legacy/' }, strip_prefix: '/legacy' }],
        },
        /routes\.0\.strip_prefix: strip_prefix needs "proxy"/,
      ],
      [
        {
          clusters: baseClusters,
          routes: [
            { name: 'x', match: { path_prefix: '/legacyx/' }, proxy: 'legacy', strip_prefix: '/legacy' },
          ],
        },
        /routes\.0\.strip_prefix: strip_prefix needs a match\.path_prefix that starts with \/legacy\//,
      ],
      [
        {
          clusters: baseClusters,
          routes: [
            { name: 'x', match: { path_prefix: '/legacy/' }, proxy: 'legacy', strip_prefix: '/%6cegacy' },
          ],
        },
        /routes\.0\.strip_prefix: expected \/segments/,
      ],
      [
        { clusters: baseClusters, routes: [{ name: 'x', match: {}, roles: ['admin'] }] },
        /routes\.0\.roles: roles need "auth": "required"/,
      ],
    ];
    for (const [content, expected] of cases) {
      const file = write('bad.json', content);
      let message = '';
      try {
        readRouteTable(file, {}, 1);
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(/^routing table .*bad\.json: /);
      expect(message).toMatch(expected);
      expect(message).not.toContain('\n');
    }
    expect(() => readRouteTable(join(dir, 'absent.json'), {}, 1)).toThrow(
      /absent\.json: cannot read it \(ENOENT\)/,
    );
  });
});
