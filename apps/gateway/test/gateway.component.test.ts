import type { AddressInfo } from 'node:net';
import { createService, type Service } from '@mercato/chassis';
import fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayConfig } from '../src/config.ts';
import { gatewayDefinition } from '../src/gateway.service.ts';

/** A stand-in catalog with the behaviours the gateway must cope with: answers, errors, silence. */
function upstreamStub() {
  const seen: Array<{ url: string; correlation: string | undefined }> = [];
  const app = fastify({ forceCloseConnections: true });
  app.addHook('onRequest', async (request) => {
    const correlation = request.headers['x-correlation-id'];
    seen.push({ url: request.url, correlation: Array.isArray(correlation) ? correlation[0] : correlation });
  });
  app.get('/readyz', async () => ({ status: 'ready' }));
  app.get('/products', async (request) => ({
    items: [],
    page: 1,
    page_size: 20,
    total: 0,
    query: request.query,
  }));
  app.get('/products/:id', async (request, reply) => {
    const { id } = request.params as { id: string };
    if (id === 'slow') await new Promise((resolve) => setTimeout(resolve, 1_000));
    if (id === 'boom') return reply.status(500).send({ secret: 'stack trace' });
    if (id === 'missing') {
      return reply.status(404).type('application/problem+json').send({
        type: 'x',
        title: 'Not Found',
        status: 404,
        detail: 'no',
        code: 'CATALOG.PRODUCT_NOT_FOUND',
      });
    }
    return {
      id,
      sku: 'KIT-0001',
      name: 'Pan',
      description: '',
      category: 'kitchen',
      created_at: 'x',
      updated_at: 'x',
    };
  });
  return { app, seen };
}

describe('gateway in front of one upstream', () => {
  const stub = upstreamStub();
  let upstream: FastifyInstance;
  let gateway: Service<GatewayConfig>;
  let url = '';

  beforeAll(async () => {
    upstream = stub.app;
    await upstream.listen({ host: '127.0.0.1', port: 0 });
    const { port } = upstream.server.address() as AddressInfo;
    gateway = await createService(gatewayDefinition, {
      PORT: '0',
      GRPC_PORT: '0',
      LOG_LEVEL: 'silent',
      CATALOG_URL: `http://127.0.0.1:${port}`,
      UPSTREAM_TIMEOUT_MS: '300',
    });
    url = await gateway.start();
  });
  afterAll(async () => {
    await gateway.stop();
    await upstream.close();
  });

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${url}${path}`, { headers });

  it('relays a product list and forwards the correlation id', async () => {
    const response = await get('/api/catalog/products?q=pan&page=2', { 'x-correlation-id': 'corr_gw_1' });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      total: 0,
      query: { q: 'pan', page: '2', page_size: '20' },
    });
    expect(stub.seen.find((request) => request.url.startsWith('/products?'))?.correlation).toBe('corr_gw_1');
  });

  it('rejects bad input at the edge without calling upstream', async () => {
    const before = stub.seen.length;
    const response = await get('/api/catalog/products?page_size=1000');
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    const traversal = await get('/api/catalog/products/..%2F..%2Fadmin');
    expect(traversal.status).toBe(400);
    expect(stub.seen.length).toBe(before);
  });

  it('passes upstream problems through and hides upstream failures', async () => {
    const missing = await get('/api/catalog/products/missing');
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { code: string }).code).toBe('CATALOG.PRODUCT_NOT_FOUND');
    const boom = await get('/api/catalog/products/boom');
    expect(boom.status).toBe(502);
    const body = await boom.text();
    expect(body).toContain('GATEWAY.UPSTREAM_FAILED');
    expect(body).not.toContain('stack trace');
  });

  it('answers 504 when upstream is slower than its timeout', async () => {
    const response = await get('/api/catalog/products/slow');
    expect(response.status).toBe(504);
    expect(((await response.json()) as { code: string; retryable: boolean }).code).toBe(
      'GATEWAY.UPSTREAM_TIMEOUT',
    );
  });

  it('answers 503 and turns not ready when upstream is down', async () => {
    expect((await get('/readyz')).status).toBe(200);
    await upstream.close();
    const response = await get('/api/catalog/products/p1');
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ code: 'GATEWAY.UPSTREAM_UNAVAILABLE', retryable: true });
    const ready = await get('/readyz');
    expect(ready.status).toBe(503);
  });
});
