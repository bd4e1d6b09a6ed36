import { createLogger } from '@mercato/chassis/logging';
import { freePort, startTokenIssuer } from '@mercato/chassis/testing';
import { SpanStatusCode } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogStore } from '../observability/log-store.ts';
import { MetricsCollector } from '../observability/metrics-collector.ts';
import { SpanStore } from '../observability/span-store.ts';
import { Registry } from '../supervisor/registry.ts';
import { ReleaseController } from '../supervisor/releases/release-controller.ts';
import type { ServiceProcess } from '../supervisor/service-process.ts';
import { type SupervisorApi, startSupervisorApi } from './supervisor-api.ts';

const ADMIN_TOKEN = 'run-token-0123456789abcdefghijklmnop';

describe('the supervisor API', () => {
  let api: SupervisorApi;
  let issuer: Awaited<ReturnType<typeof startTokenIssuer>>;
  let clock = Date.now();
  const spans = new SpanStore({
    maxBytes: 1e7,
    decisionWaitMs: 1_000,
    slowMs: 500,
    sampleRate: 0,
    now: () => clock,
  });
  const logs = new LogStore({ maxBytes: 1e6 });
  const registry = new Registry(() => []);

  beforeAll(async () => {
    issuer = await startTokenIssuer();
    api = await startSupervisorApi({
      port: await freePort(),
      adminToken: ADMIN_TOKEN,
      jwksUrl: () => `${issuer.url}/.well-known/jwks.json`,
      logger: createLogger({ service: 'supervisor', level: 'silent' }),
      processes: () => [] as ServiceProcess[],
      registry,
      releases: new ReleaseController(),
      spans,
      logs,
      metrics: new MetricsCollector({
        targets: () => ({}),
        intervalMs: 1_000,
        points: 10,
        idleAfterMs: 1_000,
      }),
      graceMs: 1_000,
    });
  });
  afterAll(async () => {
    await api?.close();
    issuer?.close();
  });

  it('opens its admin routes to the run token and admin identity tokens only: 401 without, 403 for a customer', async () => {
    const status = async (path: string, token?: string) =>
      (await fetch(`${api.url}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {}))
        .status;
    const customer = await issuer.tokenFor('usr_customer', ['customer']);
    const admin = await issuer.tokenFor('usr_admin', ['customer', 'admin']);
    for (const path of ['/admin/processes', '/admin/traces', '/admin/logs', '/admin/metrics']) {
      expect(await status(path), path).toBe(401);
      expect(await status(path, customer), path).toBe(403);
      expect(await status(path, admin), path).toBe(200);
      expect(await status(path, ADMIN_TOKEN), path).toBe(200);
    }
    const kill = await fetch(`${api.url}/admin/processes/catalog/kill`, {
      method: 'POST',
      headers: { authorization: `Bearer ${customer}` },
    });
    expect(kill.status).toBe(403);
  });

  it('documents its API at /docs/json, and every route the document lists is shut to anonymous callers and customers', async () => {
    const document = (await (await fetch(`${api.url}/docs/json`)).json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    };
    expect(document.openapi).toBe('3.1.0');
    const operations = Object.entries(document.paths).flatMap(([template, item]) =>
      Object.keys(item).map((method) => ({ method: method.toUpperCase(), template })),
    );
    expect(operations.map(({ method, template }) => `${method} ${template}`)).toEqual(
      expect.arrayContaining([
        'GET /admin/processes',
        'POST /admin/processes/{name}/{action}',
        'GET /admin/registry',
        'POST /admin/releases',
        'GET /admin/traces/{traceId}',
        'PUT /admin/services/{name}/admin/{*}',
        'POST /admin/migration/retire',
      ]),
    );
    const customer = await issuer.tokenFor('usr_customer', ['customer']);
    const wrong: string[] = [];
    for (const { method, template } of operations) {
      const target = template.replace(/\{[^}]+\}/g, 'catalog');
      for (const token of [undefined, customer]) {
        const response = await fetch(`${api.url}${target}`, {
          method,
          headers: token ? { authorization: `Bearer ${token}` } : {},
        });
        // The OTLP intake takes the run token alone; every /admin route an admin.
        const expected = token && template.startsWith('/admin/') ? 403 : 401;
        if (response.status !== expected)
          wrong.push(`${method} ${target} ${token ? 'customer' : 'anonymous'}: ${response.status}`);
      }
    }
    expect(operations.length).toBeGreaterThan(12);
    expect(wrong).toEqual([]);
  });

  it('checks a release before it starts: 401 without a token, 400 for a bad body, 503 while the platform starts', async () => {
    const post = (body: unknown, token?: string) =>
      fetch(`${api.url}/admin/releases`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify(body),
      });
    expect((await post({ service: 'catalog' })).status).toBe(401);
    const bad = await post({ service: 'catalog', strategy: 'big-bang' }, ADMIN_TOKEN);
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect((await post({ service: 'x'.repeat(65) }, ADMIN_TOKEN)).status).toBe(400);
    const starting = await post({ service: 'catalog' }, ADMIN_TOKEN);
    expect(starting.status).toBe(503);
    expect(await starting.json()).toMatchObject({ code: 'RELEASE.PLATFORM_STARTING' });
  });

  it('serves the registry to the run token only, and a watch answers as soon as it changes', async () => {
    const get = (query: string, token?: string) =>
      fetch(
        `${api.url}/admin/registry${query}`,
        token ? { headers: { authorization: `Bearer ${token}` } } : {},
      );
    expect((await get('')).status).toBe(401);
    const now = (await (await get('', ADMIN_TOKEN)).json()) as { revision: number; services: object };
    expect(now).toEqual({ revision: expect.any(Number), services: {} });
    const began = Date.now();
    const watching = get(`?after=${now.revision}&watcher=gateway-1`, ADMIN_TOKEN);
    setTimeout(() => registry.changed(), 200);
    const changed = (await (await watching).json()) as { revision: number };
    expect(changed.revision).toBe(now.revision + 1);
    expect(Date.now() - began).toBeLessThan(2_000);
    // The named watcher has not asked past the change yet: it may still hold the old list.
    expect(await registry.propagated(changed.revision, 100)).toBe(false);
    const next = get(`?after=${changed.revision}&watcher=gateway-1`, ADMIN_TOKEN);
    expect(await registry.propagated(changed.revision, 2_000)).toBe(true);
    registry.changed();
    await (await next).arrayBuffer();
    for (const query of ['?after=soon', '?after=1&watcher=../x', `?after=1&watcher=${'w'.repeat(65)}`]) {
      const bad = await get(query, ADMIN_TOKEN);
      expect(bad.status, query).toBe(400);
      expect(bad.headers.get('content-type')).toContain('application/problem+json');
    }
  });

  it('takes spans from the OpenTelemetry SDK over OTLP/HTTP with the run token, and answers trace queries', async () => {
    const exporter = new OTLPTraceExporter({
      url: `${api.url}/v1/traces`,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'payment' }),
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const span = provider.getTracer('test').startSpan('payment.take process');
    span.setAttribute('mercato.correlation_id', 'corr_otlp');
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'declined' });
    span.end();
    await provider.forceFlush();
    await provider.shutdown();
    clock += 1_000;
    spans.decide();
    const answer = await fetch(`${api.url}/admin/traces?status=error&correlation_id=corr_otlp`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const { traces } = (await answer.json()) as { traces: { trace_id: string; root_service: string }[] };
    expect(traces).toEqual([
      expect.objectContaining({ trace_id: span.spanContext().traceId, root_service: 'payment' }),
    ]);
  });

  it('refuses OTLP without the run token, and bad queries with a 400 naming the field', async () => {
    const otlp = await fetch(`${api.url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: new Uint8Array([]),
    });
    expect(otlp.status).toBe(401);
    const garbage = await fetch(`${api.url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: new Uint8Array([0xff, 0xff, 0xff]),
    });
    expect(garbage.status).toBe(400);
    const bad = await fetch(`${api.url}/admin/logs?trace_id=nope&limit=0`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toContain('application/problem+json');
    expect(JSON.stringify(await bad.json())).toMatch(/query\.trace_id/);
    for (const path of ['..%2Fhealthz', 'a%2F..%2F..%2Fhealthz', 'dead-letters/..%2F..%2Fmetrics'])
      expect(
        (
          await fetch(`${api.url}/admin/services/order/admin/${path}`, {
            headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
          })
        ).status,
        path,
      ).toBe(400);
  });
});
