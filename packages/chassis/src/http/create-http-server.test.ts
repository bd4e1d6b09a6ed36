import { afterEach, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { AppError } from '../errors/app-error.ts';
import { createLogger } from '../logging/create-logger.ts';
import { currentRequestContext } from '../logging/request-context.ts';
import { createServiceMetrics } from '../metrics/service-metrics.ts';
import { parsePrometheusText } from '../testing/prometheus-text.ts';
import { createHttpServer, type HttpApp } from './create-http-server.ts';
import { registerHealthRoutes } from './health-routes.ts';

const apps: HttpApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

function build(options: { ready?: () => Promise<void>; accepting?: boolean } = {}) {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    service: 'test',
    level: 'info',
    destination: { write: (line: string) => void lines.push(JSON.parse(line)) },
  });
  const metrics = createServiceMetrics('test');
  const app = createHttpServer({ logger, metrics, bodyLimitBytes: 1024 });
  registerHealthRoutes(
    app,
    [{ name: 'database', check: options.ready ?? (async () => undefined) }],
    { accepting: options.accepting ?? true },
    metrics.registry,
  );
  app.get(
    '/items/:id',
    {
      schema: {
        params: z.object({ id: z.string().regex(/^i\d+$/) }),
        querystring: z.object({ n: z.coerce.number().int().max(5).default(1) }),
      },
    },
    async ({ params, query }) => {
      if (params.id === 'i404')
        throw new AppError({ code: 'TEST.MISSING', kind: 'not_found', message: 'no such item' });
      if (params.id === 'i500') throw new Error('database password leaked here');
      if (params.id === 'i503')
        throw new AppError({
          code: 'TEST.BEHIND',
          kind: 'unavailable',
          message: 'not there yet',
          retryAfterSeconds: 1.2,
        });
      return { id: params.id, n: query.n, correlation: currentRequestContext()?.correlationId };
    },
  );
  app.post('/echo', { schema: { body: z.object({ name: z.string().min(1) }) } }, async ({ body }) => body);
  app.post(
    '/basket',
    {
      schema: {
        body: z.object({ items: z.array(z.object({ sku: z.string() })), note: z.string().optional() }),
        querystring: z.object({ q: z.string().optional() }),
      },
    },
    async ({ body }) => body,
  );
  apps.push(app);
  return { app, lines };
}

describe('createHttpServer', () => {
  it('serves a route and echoes correlation and request ids', async () => {
    const { app } = build();
    const response = await app.inject({
      url: '/items/i1?n=3',
      headers: { 'x-correlation-id': 'corr_given' },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ id: 'i1', n: 3, correlation: 'corr_given' });
    expect(response.headers['x-correlation-id']).toBe('corr_given');
    expect(String(response.headers['x-request-id'])).toMatch(/^req_/);
  });

  it('replaces a malformed correlation id instead of echoing it', async () => {
    const { app } = build();
    const response = await app.inject({
      url: '/items/i1',
      headers: { 'x-correlation-id': 'bad id\r\nSet-Cookie: x' },
    });
    expect(String(response.headers['x-correlation-id'])).toMatch(/^corr_[0-9a-f-]{36}$/);
  });

  it('answers schema violations with a 400 problem naming each field', async () => {
    const { app } = build();
    const response = await app.inject({ url: '/items/x?n=9' });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toContain('application/problem+json');
    const problem = response.json();
    expect(problem.code).toBe('REQUEST.INVALID');
    expect(problem.errors.map((issue: { field: string }) => issue.field)).toEqual(['path.id']);
  });

  it('rejects invalid JSON and oversized bodies with 4xx problems', async () => {
    const { app } = build();
    const broken = await app.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/json' },
      payload: '{"name":',
    });
    expect(broken.statusCode).toBe(400);
    expect(broken.headers['content-type']).toContain('application/problem+json');
    const large = await app.inject({ method: 'POST', url: '/echo', payload: { name: 'x'.repeat(4096) } });
    expect(large.statusCode).toBe(413);
    const empty = await app.inject({ method: 'POST', url: '/echo', payload: { name: '' } });
    expect(empty.json().errors[0].field).toBe('body.name');
  });

  it('says why a JSON body cannot be read: not UTF-8, not JSON (and where), a prototype key', async () => {
    const { app } = build();
    const post = (payload: string | Buffer) =>
      app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'application/json' }, payload });
    const cases: Array<[string | Buffer, RegExp]> = [
      // "Café" as Latin-1: fastify's own parser would have read U+FFFD and let it through.
      [Buffer.from('{"name":"Caf\xe9"}', 'latin1'), /^body: is not valid UTF-8$/],
      ['{"name":', /^body: is not valid JSON \(/],
      [
        '{"name":"Ada","__proto__":{"admin":true}}',
        /^body: holds a __proto__ or constructor\.prototype key$/,
      ],
      ['{"name":"Ada","constructor":{"prototype":{"admin":true}}}', /prototype key$/],
    ];
    for (const [payload, detail] of cases) {
      const response = await post(payload);
      expect(response.statusCode, String(payload)).toBe(400);
      expect(response.headers['content-type']).toContain('application/problem+json');
      expect(response.json()).toMatchObject({ code: 'REQUEST.INVALID', errors: [{ field: 'body' }] });
      expect(response.json().detail).toMatch(detail);
    }
    expect((await post('')).json().code).toBe('HTTP.FST_ERR_CTP_EMPTY_JSON_BODY');
    // UTF-8, a BOM and a pair of surrogates (an emoji) are read as ever.
    const fine = await post(Buffer.from('\ufeff{"name":"Café 😀"}', 'utf8'));
    expect(fine.statusCode).toBe(200);
    expect(fine.json()).toEqual({ name: 'Café 😀' });
  });

  it('refuses NUL and other control characters in any text field, naming the field', async () => {
    const { app } = build();
    const cases: Array<[string, unknown, string]> = [
      ['/echo', { name: 'Ada\u0000' }, 'body.name'],
      ['/basket', { items: [{ sku: 'KIT-0001' }, { sku: 'KIT\u00000002' }] }, 'body.items.1.sku'],
      ['/basket', { items: [], note: 'line\nbreak' }, 'body.note'],
      ['/basket', { items: [], note: 'escape \u001b[2J' }, 'body.note'],
      ['/basket', { items: [], note: 'delete \u007f' }, 'body.note'],
      ['/basket', { items: [], note: 'c1 \u0085' }, 'body.note'],
      ['/basket', { items: [], 'key\u0000': 'x' }, 'body.key\u0000'],
      ['/basket?q=a%00b', { items: [] }, 'query.q'],
      // Unpaired surrogates (JSON's "\ud800"): UTF-8 has no bytes for them.
      ['/basket', { items: [], note: 'lone \ud800 high' }, 'body.note'],
      ['/basket', { items: [], note: 'lone \udc00 low' }, 'body.note'],
      ['/basket', { items: [], note: 'at the end \ud83d' }, 'body.note'],
    ];
    for (const [url, payload, field] of cases) {
      const response = await app.inject({ method: 'POST', url, payload: payload as object });
      expect(response.statusCode, url).toBe(400);
      expect(response.json()).toMatchObject({ code: 'REQUEST.INVALID', errors: [{ field }] });
    }
    const fine = await app.inject({
      method: 'POST',
      url: '/basket',
      payload: { items: [], note: 'Café, n° 3, 😀' },
    });
    expect(fine.statusCode).toBe(200);
  });

  it('maps AppErrors and hides unexpected errors', async () => {
    const { app, lines } = build();
    expect((await app.inject({ url: '/items/i404' })).json()).toMatchObject({
      status: 404,
      code: 'TEST.MISSING',
    });
    const missing = await app.inject({ url: '/items/i404' });
    expect(missing.headers['retry-after']).toBeUndefined();
    // An error that says when to ask again sends it as Retry-After, in whole seconds.
    const behind = await app.inject({ url: '/items/i503' });
    expect(behind.statusCode).toBe(503);
    expect(behind.headers['retry-after']).toBe('2');
    expect(behind.json()).toMatchObject({ code: 'TEST.BEHIND', retryable: true });
    const failed = await app.inject({ url: '/items/i500' });
    expect(failed.statusCode).toBe(500);
    expect(failed.body).not.toContain('password');
    expect(
      lines.some((line) => line.level === 'error' && JSON.stringify(line.error).includes('password')),
    ).toBe(true);
  });

  it('answers a path parameter longer than the router keeps with a 414 problem', async () => {
    const { app } = build();
    const response = await app.inject({ url: `/items/i${'1'.repeat(500)}` });
    expect(response.statusCode).toBe(414);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.json()).toMatchObject({ code: 'HTTP.FST_ERR_MAX_PARAM_LENGTH', status: 414 });
  });

  it('answers unknown routes with a 404 problem', async () => {
    const { app } = build();
    const response = await app.inject({ url: '/nowhere' });
    expect(response.statusCode).toBe(404);
    expect(response.json().code).toBe('HTTP.ROUTE_NOT_FOUND');
  });

  it('logs each request once with route, status and duration', async () => {
    const { app, lines } = build();
    await app.inject({ url: '/items/i2', headers: { 'x-correlation-id': 'corr_log' } });
    const completed = lines.filter((line) => line.message === 'request completed');
    expect(completed).toHaveLength(1);
    expect(completed[0]).toMatchObject({ route: '/items/:id', status: 200, correlation_id: 'corr_log' });
  });

  it('exposes RED histograms per route in Prometheus text format', async () => {
    const { app } = build();
    await app.inject({ url: '/items/i1' });
    await app.inject({ url: '/items/i404' });
    const response = await app.inject({ url: '/metrics' });
    expect(response.headers['content-type']).toContain('text/plain');
    const families = parsePrometheusText(response.body);
    const http = families.find((family) => family.name === 'http_server_request_duration_seconds');
    expect(http?.type).toBe('histogram');
    const counts = http?.samples.filter((sample) => sample.name.endsWith('_count'));
    const statuses = counts?.map((sample) => `${sample.labels.route} ${sample.labels.status_code}`).sort();
    expect(statuses).toEqual(['/items/:id 200', '/items/:id 404']);
    const names = families.map((family) => family.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'nodejs_eventloop_utilization_ratio',
        'nodejs_heap_size_used_bytes',
        'nodejs_eventloop_lag_p99_seconds',
      ]),
    );
  });

  it('reports readiness from its checks and from shutdown state', async () => {
    expect((await build().app.inject({ url: '/readyz' })).statusCode).toBe(200);
    const failing = await build({
      ready: async () => Promise.reject(new Error('connection refused')),
    }).app.inject({ url: '/readyz' });
    expect(failing.statusCode).toBe(503);
    expect(failing.json()).toEqual({ status: 'not_ready', checks: { database: 'connection refused' } });
    const closing = await build({ accepting: false }).app.inject({ url: '/readyz' });
    expect(closing.json().status).toBe('shutting_down');
    expect((await build({ accepting: false }).app.inject({ url: '/healthz' })).statusCode).toBe(200);
  });
});
