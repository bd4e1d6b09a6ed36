import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../logging/create-logger.ts';
import { createServiceMetrics } from '../metrics/service-metrics.ts';
import { rawRequest } from '../testing/raw-request.ts';
import { createAdminGuard } from './admin-guard.ts';
import { createHttpServer, type HttpApp } from './create-http-server.ts';

const ADMIN_TOKEN = 'admin-token-for-tests';
const apps: HttpApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

/** A service's HTTP side as createService builds it: the guard, a knob behind it, a public route. */
async function build() {
  const knobs = { outage: false };
  const app = createHttpServer({
    logger: createLogger({ service: 'test', level: 'silent' }),
    metrics: createServiceMetrics('test'),
  });
  app.addHook('onRequest', createAdminGuard({ adminToken: ADMIN_TOKEN }));
  app.get('/admin/knobs', async () => knobs);
  app.put('/admin/knobs', async () => {
    knobs.outage = true;
    return knobs;
  });
  app.get('/items/:id', async (request) => ({ id: (request.params as { id: string }).id }));
  apps.push(app);
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  // Sent as written: fetch and inject would resolve dot segments before sending.
  const send = (target: string, options: Parameters<typeof rawRequest>[2] = {}) =>
    rawRequest(base, target, options);
  return { send, knobs };
}

// Each is a spelling of /admin/knobs that a router or an upstream may act on as that path.
const disguises = [
  '/%61dmin/knobs',
  '/%61%64%6d%69%6e/knobs',
  '/admin/%6bnobs',
  '/ADMIN/knobs',
  '/Admin/knobs',
  '//admin/knobs',
  '/admin//knobs',
  '/./admin/knobs',
  '/admin/./knobs',
  '/x/../admin/knobs',
  '/x/%2e%2e/admin/knobs',
  '/x/%2E%2E/admin/knobs',
  '/admin/knobs/',
  '/admin/knobs/.',
  '/items/../admin/knobs',
];
// Spellings refused outright: encoded separators, NUL and controls, double encoding, bad UTF-8.
const refused = [
  '/x%2f..%2fadmin/knobs',
  '/admin%2fknobs',
  '/admin%2Fknobs',
  '/admin%5cknobs',
  '/admin\\knobs',
  '/%2561dmin/knobs',
  '/admin%252fknobs',
  '/admin%00/knobs',
  '/admin/knobs%00',
  '/admin/knobs%0a',
  '/admin/knobs%7f',
  '/%c0%afadmin/knobs',
  '/admin%c0%ae%c0%ae/knobs',
  '/admin/knobs%ff',
  '/admin/knobs%',
  '/admin/knobs%zz',
  '/admin;jsessionid=1/knobs',
  '/admin/knobs;x=1',
  '/..',
  '/x/../../admin/knobs',
];

describe('the admin guard', () => {
  it('lets the run token in and keeps everyone else out of /admin', async () => {
    const { send } = await build();
    expect((await send('/admin/knobs')).status).toBe(401);
    const withToken = await send('/admin/knobs', { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(withToken.status).toBe(200);
    expect((await send('/items/i1')).json()).toEqual({ id: 'i1' });
  });

  it.each(disguises)('guards %s like /admin/knobs and changes nothing without a credential', async (url) => {
    const { send, knobs } = await build();
    const read = await send(url);
    expect(read.status).toBe(401);
    expect(read.headers['content-type']).toContain('application/problem+json');
    const write = await send(url, { method: 'PUT', body: {} });
    expect(write.status).toBe(401);
    expect(knobs.outage).toBe(false);
  });

  it.each(refused)('refuses %s with a 400 problem and changes nothing', async (url) => {
    const { send, knobs } = await build();
    for (const headers of [{}, { authorization: `Bearer ${ADMIN_TOKEN}` }] as Record<string, string>[]) {
      const write = await send(url, { method: 'PUT', body: {}, headers });
      expect(write.status).toBe(400);
      expect(write.json()?.code).toBe('HTTP.BAD_PATH');
    }
    expect(knobs.outage).toBe(false);
  });
});
