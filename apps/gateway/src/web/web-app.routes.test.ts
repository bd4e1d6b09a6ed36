import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  AppError,
  createHttpServer,
  createLogger,
  createServiceMetrics,
  type HttpApp,
} from '@mercato/chassis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIdentification } from '../auth/identification.ts';
import { webAppRoutes } from './web-app.routes.ts';

const RUN_TOKEN = 'run-token-0123456789abcdefghijklmnop';

/** Tokens are names here: `admin` has the admin role, `customer` does not, anything else is refused. */
const lifetime = { issuedAt: Date.now(), expiresAt: Date.now() + 3_600_000 };
const authenticate = async (header: string | undefined) => {
  const token = header?.replace('Bearer ', '');
  if (token === 'admin') return { userId: 'usr_admin', roles: ['customer', 'admin'], ...lifetime };
  if (token === 'customer') return { userId: 'usr_customer', roles: ['customer'], ...lifetime };
  throw new AppError({ code: 'AUTH.INVALID_TOKEN', kind: 'unauthenticated', message: 'not valid' });
};

describe('the web app at the edge', () => {
  let app: HttpApp;
  let supervisor: Server;
  let root = '';
  const forwarded: { url: string; authorization: string }[] = [];

  beforeAll(async () => {
    supervisor = createServer((request, response) => {
      forwarded.push({ url: request.url ?? '', authorization: request.headers.authorization ?? '' });
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"processes":[]}');
    });
    await new Promise<void>((resolve) => supervisor.listen(0, '127.0.0.1', resolve));
    const address = supervisor.address() as { port: number };
    root = await mkdtemp(path.join(tmpdir(), 'mercato-web-'));
    await writeFile(path.join(root, 'index.html'), '<!doctype html><title>shop</title>');
    app = createHttpServer({
      logger: createLogger({ service: 'gateway', level: 'silent' }),
      metrics: createServiceMetrics('gateway'),
    });
    await app.register(
      webAppRoutes({
        identification: createIdentification(authenticate, new Map()),
        supervisorUrl: `http://127.0.0.1:${address.port}`,
        adminToken: RUN_TOKEN,
        root,
      }),
    );
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    supervisor.close();
    await rm(root, { recursive: true, force: true });
  });

  const get = (url: string, token?: string) =>
    app.inject({ url, headers: token ? { authorization: `Bearer ${token}` } : {} });

  it('serves the storefront page with a content security policy, and 503 problem+json for a page not built', async () => {
    const page = await get('/orders/ord_1');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<title>shop</title>');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    const console_ = await get('/ops/traces');
    expect(console_.statusCode).toBe(503);
    expect(console_.json()).toMatchObject({ code: 'WEB.NOT_BUILT' });
  });

  it('forwards /ops/api/* to the supervisor for an admin or the run token only', async () => {
    expect((await get('/ops/api/processes')).statusCode).toBe(401);
    expect((await get('/ops/api/processes', 'forged')).statusCode).toBe(401);
    expect((await get('/ops/api/processes', 'customer')).statusCode).toBe(403);
    expect(forwarded).toEqual([]);
    expect((await get('/ops/api/processes?x=1', 'admin')).json()).toEqual({ processes: [] });
    expect((await get('/ops/api/logs', RUN_TOKEN)).statusCode).toBe(200);
    expect(forwarded).toEqual([
      { url: '/admin/processes?x=1', authorization: 'Bearer admin' },
      { url: '/admin/logs', authorization: `Bearer ${RUN_TOKEN}` },
    ]);
  });

  it('never forwards a path that would leave the supervisor’s /admin/', async () => {
    forwarded.length = 0;
    expect((await get('/ops/api/..%2F..%2Fv1/traces', 'admin')).statusCode).toBe(400);
    // The router does not take this one for /ops/api/* at all (it is a console page, unbuilt here).
    expect((await get('/ops/api/%2e%2e/v1/traces', 'admin')).json()).toMatchObject({ code: 'WEB.NOT_BUILT' });
    expect(forwarded).toEqual([]);
  });
});
