import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import {
  createLogger,
  createPool,
  createService,
  messageStoreMigrations,
  migrate,
  type Pool,
} from '@mercato/chassis';
import {
  createTestDatabase,
  probePostgres,
  startTokenIssuer,
  suiteTitle,
  waitFor,
} from '@mercato/chassis/testing';
import { CatalogService } from '@mercato/contracts/grpc/catalog';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoProducts } from '../src/application/demo-catalog.ts';
import { catalogDefinition } from '../src/catalog.service.ts';

const postgres = await probePostgres();
const logger = createLogger({ service: 'catalog-test', level: 'silent' });

interface ProductJson {
  id: string;
  sku: string;
  name: string;
  category: string;
}
/** The union of the shapes these tests read: a page, a product or a problem document. */
interface Body extends Partial<ProductJson> {
  items: ProductJson[];
  total: number;
  page: number;
  page_size: number;
  code: string;
  errors: Array<{ field: string; message: string }>;
}

describe.skipIf(!postgres.available)(suiteTitle('catalog service over HTTP', postgres), () => {
  let url = '';
  let grpcUrl = '';
  let messages: Pool;
  const cleanups: Array<() => Promise<unknown>> = [];
  const adminToken = 'adm_'.padEnd(40, 'x');
  let issuer: Awaited<ReturnType<typeof startTokenIssuer>>;

  beforeAll(async () => {
    issuer = await startTokenIssuer();
    cleanups.push(() => issuer.close());
    const database = await createTestDatabase('catalog_component');
    const store = await createTestDatabase('catalog_messages');
    cleanups.push(database.drop, store.drop);
    messages = createPool({ url: store.url, max: 2, applicationName: 'test' }, logger);
    cleanups.unshift(() => messages.end());
    await migrate(messages, messageStoreMigrations, logger, 'bus_migrations');
    const service = await createService(catalogDefinition, {
      DATABASE_URL: database.url,
      MESSAGES_DATABASE_URL: store.url,
      PORT: '0',
      GRPC_PORT: '0',
      LOG_LEVEL: 'silent',
      MERCATO_ADMIN_TOKEN: adminToken,
      ADMIN_JWKS_URL: `${issuer.url}/.well-known/jwks.json`,
    });
    cleanups.unshift(() => service.stop());
    url = await service.start();
    grpcUrl = service.grpcUrl() ?? '';
  });
  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  const get = async (path: string) => {
    const response = await fetch(`${url}${path}`);
    return {
      status: response.status,
      type: response.headers.get('content-type') ?? '',
      body: (await response.json()) as Body,
    };
  };
  const post = async (path: string, body: unknown) => {
    const response = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return {
      status: response.status,
      type: response.headers.get('content-type') ?? '',
      body: (await response.json()) as Body,
    };
  };

  it('seeds the demo catalog on first start', async () => {
    const { status, body } = await get('/products?page_size=100');
    expect(status).toBe(200);
    expect(body.total).toBe(demoProducts.length);
    expect(body.items).toHaveLength(demoProducts.length);
    expect((await get('/categories')).body.items).toHaveLength(6);
  });

  it('pages, searches and filters', async () => {
    const page2 = (await get('/products?page=2&page_size=10')).body;
    expect(page2).toMatchObject({ page: 2, page_size: 10 });
    expect(page2.items).toHaveLength(10);
    const search = (await get('/products?q=hiking%20boo')).body;
    expect(search.items.map((item) => item.name).sort()).toEqual([
      'Classic Hiking Boot',
      'Trail Hiking Boot',
      'Urban Hiking Boot',
    ]);
    const books = (await get('/products?category=books&page_size=100')).body;
    expect(books.items.every((item) => item.category === 'books')).toBe(true);
  });

  it('creates a product and reads it back', async () => {
    const created = await post('/products', { sku: 'kit-9001', name: 'Copper Whisk', category: 'kitchen' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      sku: 'KIT-9001',
      name: 'Copper Whisk',
      category: 'kitchen',
      description: '',
    });
    expect((await get(`/products/${created.body.id}`)).body).toEqual(created.body);
    const duplicate = await post('/products', { sku: 'KIT-9001', name: 'Another', category: 'kitchen' });
    expect(duplicate).toMatchObject({ status: 409, body: { code: 'CATALOG.DUPLICATE_SKU' } });
  });

  it.each([
    ['/products?page=0', 'query.page'],
    ['/products?page_size=500', 'query.page_size'],
    ['/products?page_size=abc', 'query.page_size'],
    ['/products?category=Not%20A%20Slug', 'query.category'],
  ])('rejects %s with a problem naming %s', async (path, field) => {
    const { status, type, body } = await get(path);
    expect(status).toBe(400);
    expect(type).toContain('application/problem+json');
    expect(body.errors.map((issue) => issue.field)).toEqual([field]);
  });

  it('rejects bad bodies without writing anything', async () => {
    const before = (await get('/products')).body.total;
    const cases = [
      [{ sku: 'A B', name: 'x', category: 'kitchen' }, 400],
      [{ sku: 'KIT-9100', name: '', category: 'kitchen' }, 400],
      [{ sku: 'KIT-9101', name: 'x', category: 'garden' }, 400],
      [{ name: 'no sku', category: 'kitchen' }, 400],
    ] as const;
    for (const [body, status] of cases) {
      const response = await post('/products', body);
      expect(response.status).toBe(status);
      expect(response.type).toContain('application/problem+json');
    }
    expect((await get('/products')).body.total).toBe(before);
  });

  it('publishes product.created through its outbox for every product it creates', async () => {
    const created = await post('/products', { sku: 'kit-9500', name: 'Pepper Mill', category: 'kitchen' });
    const published = async () =>
      (
        await messages.query<{ envelope: { data: { product_id: string }; correlation_id: string } }>(
          "SELECT envelope FROM bus_messages WHERE destination = 'product.created'",
        )
      ).rows.map((row) => row.envelope);
    await waitFor('product.created on the bus', async () =>
      (await published()).some((envelope) => envelope.data.product_id === created.body.id),
    );
    // The seeded demo products were announced too.
    expect((await published()).length).toBeGreaterThanOrEqual(demoProducts.length + 1);
  });

  it('answers a missing product with 404', async () => {
    expect(await get('/products/prd_missing')).toMatchObject({
      status: 404,
      body: { code: 'CATALOG.PRODUCT_NOT_FOUND' },
    });
  });

  describe('over gRPC', () => {
    const client = () => createClient(CatalogService, createGrpcTransport({ baseUrl: grpcUrl }));

    it('gets, lists and searches products', async () => {
      const list = await client().listProducts({ categorySlug: 'books', pageSize: 5 });
      expect(list.total).toBe(9);
      expect(list.products).toHaveLength(5);
      const first = list.products[0];
      const got = await client().getProduct({ id: first?.id ?? '' });
      expect(got.product?.sku).toBe(first?.sku);
      const search = await client().searchProducts({ query: 'sourdough' });
      expect(search.products.map((product) => product.name)).toContain('Paperback Sourdough Handbook');
    });

    it('answers NOT_FOUND with the stable code and INVALID_ARGUMENT naming the field', async () => {
      const missing = await client()
        .getProduct({ id: 'prod_missing' })
        .catch((error: unknown) => ConnectError.from(error));
      expect(missing).toMatchObject({ code: Code.NotFound });
      expect((missing as ConnectError).metadata.get('mercato-error-code')).toBe('CATALOG.PRODUCT_NOT_FOUND');

      const invalid = await client()
        .searchProducts({ query: '  ', pageSize: 500 })
        .catch((error: unknown) => ConnectError.from(error));
      expect(invalid).toMatchObject({ code: Code.InvalidArgument });
      expect((invalid as ConnectError).rawMessage).toMatch(/query: .*pageSize: /);
    });
  });

  it('opens its admin endpoints to an admin only: 401 without or with a bad credential, 403 for a customer', async () => {
    const admin = (authorization?: string) =>
      fetch(`${url}/admin/dead-letters`, authorization ? { headers: { authorization } } : {});
    const anonymous = await admin();
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('content-type')).toContain('application/problem+json');
    expect(((await anonymous.json()) as Body).code).toBe('AUTH.ADMIN_REQUIRED');
    expect((await admin(`Bearer ${'y'.repeat(40)}`)).status).toBe(401);
    expect((await admin('Basic YWRtaW46YWRtaW4=')).status).toBe(401);
    // A customer's token whose payload was edited to claim the admin role: the signature fails.
    const [header, , signature] = (await issuer.tokenFor('usr_c', ['customer'])).split('.');
    const claimed = Buffer.from(JSON.stringify(issuer.claims({ sub: 'usr_c', roles: ['admin'] })));
    expect((await admin(`Bearer ${header}.${claimed.toString('base64url')}.${signature}`)).status).toBe(401);
    const customer = await admin(`Bearer ${await issuer.tokenFor('usr_c', ['customer'])}`);
    expect(customer.status).toBe(403);
    expect(((await customer.json()) as Body).code).toBe('AUTH.FORBIDDEN');
    expect((await admin(`Bearer ${await issuer.tokenFor('usr_a', ['admin'])}`)).status).toBe(200);
    const byRunToken = await admin(`Bearer ${adminToken}`);
    expect(byRunToken.status).toBe(200);
    expect(await byRunToken.json()).toEqual({ items: [] });
    const replay = await fetch(`${url}/admin/dead-letters/1/replay`, { method: 'POST' });
    expect(replay.status).toBe(401);
  });
});
