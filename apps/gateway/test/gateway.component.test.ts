import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, type ConnectRouter } from '@connectrpc/connect';
import { createService, type GrpcServer, type Service } from '@mercato/chassis';
import { startGrpcStub, waitFor } from '@mercato/chassis/testing';
import { CatalogService, ProductSchema } from '@mercato/contracts/grpc/catalog';
import { IdentityService } from '@mercato/contracts/grpc/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayConfig } from '../src/config.ts';
import { gatewayDefinition } from '../src/gateway.service.ts';
import { gatewayPeers } from './support/peers.ts';

/** A stand-in catalog with the behaviours the gateway must cope with: answers, errors, silence. */
function catalogStub() {
  const seen: Array<{ method: string; id?: string; correlation: string | null; query?: string }> = [];
  const routes = (router: ConnectRouter) => {
    router.service(CatalogService, {
      async getProduct(request, context) {
        seen.push({
          method: 'GetProduct',
          id: request.id,
          correlation: context.requestHeader.get('x-correlation-id'),
        });
        if (request.id === 'slow') await new Promise((resolve) => setTimeout(resolve, 1_000));
        if (request.id === 'boom') throw new ConnectError('stack trace: secret', Code.Internal);
        if (request.id === 'missing')
          throw new ConnectError('Product missing does not exist', Code.NotFound, {
            'mercato-error-code': 'CATALOG.PRODUCT_NOT_FOUND',
          });
        return {
          product: create(ProductSchema, {
            id: request.id,
            sku: 'KIT-0001',
            name: 'Pan',
            categorySlug: 'kitchen',
          }),
        };
      },
      listProducts(request, context) {
        seen.push({ method: 'ListProducts', correlation: context.requestHeader.get('x-correlation-id') });
        return { products: [], page: request.page, pageSize: request.pageSize, total: 0 };
      },
      searchProducts(request, context) {
        seen.push({
          method: 'SearchProducts',
          query: request.query,
          correlation: context.requestHeader.get('x-correlation-id'),
        });
        return { products: [], page: request.page, pageSize: request.pageSize, total: 0 };
      },
      listCategories: () => ({ categories: [{ slug: 'kitchen', name: 'Kitchen' }] }),
    });
    // The gateway's readiness also asks identity for its keys.
    router.service(IdentityService, {
      getJwks: () => ({ keys: [] }),
    });
  };
  return { seen, routes };
}

describe('gateway in front of a gRPC upstream', () => {
  const stub = catalogStub();
  let upstream: GrpcServer;
  let gateway: Service<GatewayConfig>;
  let url = '';

  beforeAll(async () => {
    const started = await startGrpcStub(stub.routes);
    upstream = started.server;
    const catalogUrl = started.url;
    gateway = await createService(gatewayDefinition, {
      PORT: '0',
      LOG_LEVEL: 'silent',
      MERCATO_PEERS: gatewayPeers(catalogUrl),
      IDENTITY_URL: 'http://127.0.0.1:9',
      RPC_TIMEOUT_MS: '300',
      RPC_RETRY_ATTEMPTS: '1',
    });
    url = await gateway.start();
  });
  afterAll(async () => {
    await gateway.stop();
    await upstream.close(100);
  });

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${url}${path}`, { headers });

  it('translates a search to gRPC and forwards the correlation id', async () => {
    const response = await get('/api/catalog/products?q=pan&page=2', { 'x-correlation-id': 'corr_gw_1' });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ items: [], page: 2, page_size: 20, total: 0 });
    expect(stub.seen.find((call) => call.method === 'SearchProducts')).toMatchObject({
      query: 'pan',
      correlation: 'corr_gw_1',
    });
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

  it('maps upstream statuses to problems and hides upstream internals', async () => {
    const missing = await get('/api/catalog/products/missing');
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { code: string }).code).toBe('CATALOG.PRODUCT_NOT_FOUND');
    const boom = await get('/api/catalog/products/boom');
    expect(boom.status).toBe(502);
    const body = await boom.text();
    expect(body).toContain('CATALOG.INTERNAL');
    expect(body).not.toContain('secret');
  });

  it('answers 504 when upstream is slower than its timeout', async () => {
    const response = await get('/api/catalog/products/slow');
    expect(response.status).toBe(504);
    expect(await response.json()).toMatchObject({ code: 'CATALOG.TIMEOUT', retryable: true });
  });

  it('documents every edge route in OpenAPI', async () => {
    const response = await get('/docs/json');
    expect(response.status).toBe(200);
    const paths = Object.keys(((await response.json()) as { paths: Record<string, unknown> }).paths);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/api/catalog/products',
        '/api/catalog/products/{id}',
        '/api/auth/register',
        '/api/auth/login',
        '/api/auth/refresh',
        '/.well-known/jwks.json',
        '/api/inventory/stock/{sku}',
        '/api/inventory/stock/{sku}/live',
        '/api/cart/quote',
        '/api/customers/me',
        '/api/customers/me/preferences',
      ]),
    );
  });

  it('answers 503 and turns not ready when upstream is down', async () => {
    // Ready first. The tests above made the upstream fail and time out on purpose, and on a loaded
    // machine the readiness probe (a call to catalog and identity) may itself have been too slow
    // once: it is ready again within a probe or two.
    await waitFor(
      'the gateway ready while its upstream is up',
      async () => (await get('/readyz')).status === 200,
      10_000,
    );
    await upstream.close(0);
    const response = await get('/api/catalog/products/p1');
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ retryable: true });
    const ready = await get('/readyz');
    expect(ready.status).toBe(503);
  });
});
