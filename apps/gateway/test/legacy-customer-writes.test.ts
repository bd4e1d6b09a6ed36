import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError, conflict, createService, type GrpcServer, type Service } from '@mercato/chassis';
import { startGrpcStub, startTokenIssuer, waitFor } from '@mercato/chassis/testing';
import { CustomerService } from '@mercato/contracts/grpc/customer';
import fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayConfig } from '../src/config.ts';
import { gatewayDefinition } from '../src/gateway.service.ts';

interface Row {
  id: number;
  email: string;
  name: string;
  address: string;
  createdAt: string;
  updatedAt: string;
}

const row = (id: number): Row => ({
  id,
  email: `customer${id}@legacy.example`,
  name: `Customer ${id}`,
  address: `${id} Old Street`,
  createdAt: '2023-01-01T00:00:00.000Z',
  updatedAt: '2024-01-01T00:00:00.000Z',
});

/**
 * Who writes customers, as each side tells it: the monolith until `monolithOwns` is false; the
 * services refuse (kept by the monolith) for `kept` more asks, then hold (moving) for `moving` more,
 * then write.
 */
const sides = { monolithOwns: true, kept: 0, moving: 0 };
const ADMIN_TOKEN = 'gateway-legacy-writes-admin-token-0123456789';
const asked = { monolith: 0, services: 0 };
const monolithRows = new Map([1, 2, 3].map((id) => [id, row(id)]));
const servicesRows = new Map([1, 2, 3].map((id) => [id, row(id)]));
const updates: Array<{ id: string; name: string; address?: string | undefined }> = [];

describe('a customer write of the monolith, sent to whichever side owns customers (strangler fig, phase 3)', () => {
  const routesFile = join(mkdtempSync(join(tmpdir(), 'gateway-legacy-writes-')), 'routes.json');
  let grpc: GrpcServer;
  let monolith: FastifyInstance;
  let issuer: Awaited<ReturnType<typeof startTokenIssuer>>;
  let gateway: Service<GatewayConfig>;
  let url = '';
  let admin: Record<string, string> = {};
  /** The table once the monolith retired: no cluster for it, no route to it. */
  let servicesOnly = () => {};

  beforeAll(async () => {
    issuer = await startTokenIssuer();
    admin = { authorization: `Bearer ${await issuer.tokenFor('usr_root', ['admin'])}` };
    const stub = await startGrpcStub((router) =>
      router.service(CustomerService, {
        updateProfile: (request) => {
          asked.services += 1;
          if (sides.kept > 0) {
            sides.kept -= 1;
            throw conflict(
              'CUSTOMER.KEPT_BY_MONOLITH',
              `Customer ${request.id} is still kept by the monolith`,
            );
          }
          if (sides.moving > 0) {
            sides.moving -= 1;
            throw new AppError({
              code: 'CUSTOMER.MOVE_IN_PROGRESS',
              kind: 'conflict',
              retryable: true,
              retryAfterSeconds: 1,
              message: 'moving',
            });
          }
          updates.push({ id: request.id, name: request.name, address: request.address });
          const id = Number(request.id.replace('usr_legacy_', ''));
          const current = servicesRows.get(id) ?? row(id);
          const next = {
            ...current,
            name: request.name || current.name,
            address: request.address ?? current.address,
            updatedAt: new Date().toISOString(),
          };
          servicesRows.set(id, next);
          return { customer: { ...next, id: request.id, segment: 'standard' } };
        },
      }),
    );
    grpc = stub.server;
    monolith = fastify();
    monolith.patch<{ Params: { id: string }; Body: Partial<Row> }>(
      '/api/customers/:id',
      async (request, reply) => {
        asked.monolith += 1;
        if (!sides.monolithOwns)
          return reply.code(409).type('application/problem+json').send({
            code: 'LEGACY.CAPABILITY_MOVED',
            detail: 'The services write customers now',
            status: 409,
          });
        const id = Number(request.params.id);
        const next = { ...(monolithRows.get(id) ?? row(id)), ...request.body };
        monolithRows.set(id, next);
        return next;
      },
    );
    await monolith.listen({ host: '127.0.0.1', port: 0 });
    const monolithUrl = `http://127.0.0.1:${(monolith.server.address() as AddressInfo).port}`;
    const grpcCluster = { protocol: 'grpc', backends: [{ name: 'stub', url: stub.url }] };
    const clusters: Record<string, unknown> = Object.fromEntries(
      ['catalog', 'identity', 'customer', 'pricing', 'inventory', 'order', 'fulfillment', 'notification'].map(
        (name) => [name, grpcCluster],
      ),
    );
    clusters.legacy = { protocol: 'http', backends: [{ url: monolithUrl }] };
    servicesOnly = () =>
      writeFileSync(
        routesFile,
        JSON.stringify({
          clusters: { ...clusters, legacy: undefined },
          routes: [
            {
              name: 'legacy-customer-writes',
              match: { methods: ['PATCH'], path: '/legacy/api/customers/:id' },
            },
          ],
        }),
      );
    writeFileSync(
      routesFile,
      JSON.stringify({
        clusters,
        routes: [
          {
            name: 'legacy-customer-writes',
            match: { methods: ['PATCH'], path: '/legacy/api/customers/:id' },
          },
          {
            name: 'legacy',
            match: { path_prefix: '/legacy/api/' },
            proxy: 'legacy',
            strip_prefix: '/legacy',
          },
        ],
      }),
    );
    gateway = await createService(gatewayDefinition, {
      PORT: '0',
      LOG_LEVEL: 'silent',
      GATEWAY_ROUTES_FILE: routesFile,
      IDENTITY_URL: issuer.url,
      // A hold asks both sides in turn a dozen times here: the deadline leaves it room on a loaded
      // machine (each ask a round trip), and the write that outlasts it is answered within it.
      GATEWAY_DEADLINE_MS: '6000',
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

  const patch = async (id: number | string, body: unknown, headers = admin) => {
    const response = await fetch(`${url}/legacy/api/customers/${id}`, {
      method: 'PATCH',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return {
      status: response.status,
      retryAfter: response.headers.get('retry-after'),
      body: (await response.json()) as Row & { code?: string },
    };
  };

  it('writes to the monolith while it owns customers; the services are not asked', async () => {
    const before = { ...asked };
    expect(await patch(1, { name: 'Renamed There' })).toMatchObject({
      status: 200,
      body: { id: 1, name: 'Renamed There', address: '1 Old Street' },
    });
    expect(asked).toEqual({ monolith: before.monolith + 1, services: before.services });
  });

  it('holds a write that meets the move until the services take it, then sends the next ones straight to them', async () => {
    // The monolith gave customers up; the services see it two asks later and hold three more.
    Object.assign(sides, { monolithOwns: false, kept: 2, moving: 3 });
    const before = { ...asked };
    const started = performance.now();
    const held = await patch(2, { address: '2 New Road' });
    expect(held).toMatchObject({
      status: 200,
      body: { id: 2, name: 'Customer 2', address: '2 New Road', email: 'customer2@legacy.example' },
    });
    // Asked in turn until both had said so: 3 asks of the monolith, 2 refusals + 3 holds + 1 write of the services.
    expect(asked.services - before.services).toBe(6);
    expect(asked.monolith - before.monolith).toBeGreaterThanOrEqual(2);
    expect(performance.now() - started).toBeGreaterThanOrEqual(4 * 25);
    expect(updates.at(-1)).toEqual({ id: 'usr_legacy_2', name: '', address: '2 New Road' });
    expect(monolithRows.get(2)?.address).toBe('2 Old Street');

    const next = { ...asked };
    expect(await patch(3, { name: 'Renamed Here' })).toMatchObject({
      status: 200,
      body: { name: 'Renamed Here' },
    });
    expect(asked).toEqual({ monolith: next.monolith, services: next.services + 1 });
  });

  it('answers 409 with Retry-After, nothing written, when the move outlasts the request', async () => {
    Object.assign(sides, { kept: 0, moving: 1_000_000 });
    const before = updates.length;
    const started = performance.now();
    const refused = await patch(3, { name: 'Too Late' });
    expect(refused).toMatchObject({
      status: 409,
      retryAfter: '1',
      body: { code: 'LEGACY.CUSTOMERS_MOVING' },
    });
    // Within the deadline (6 s), with time left to answer.
    expect(performance.now() - started).toBeLessThan(6_000);
    expect(updates.length).toBe(before);
    sides.moving = 0;
  });

  it('refuses an email change once customers moved (the monolith asked first), and bad writes before asking anyone', async () => {
    const before = { ...asked };
    expect(await patch(1, { email: 'new@legacy.example' })).toMatchObject({
      status: 422,
      body: { code: 'LEGACY.EMAIL_NOT_MOVED' },
    });
    expect(asked).toEqual({ monolith: before.monolith + 1, services: before.services });
    for (const [id, body] of [
      [1, {}],
      [1, { name: '' }],
      ['0', { name: 'x' }],
      ['1e3', { name: 'x' }],
      [1, { address: 'x'.repeat(501) }],
    ] as const)
      expect((await patch(id, body)).status).toBe(400);
    const customer = { authorization: `Bearer ${await issuer.tokenFor('usr_legacy_1')}` };
    expect((await patch(1, { name: 'x' }, customer)).status).toBe(403);
    expect((await patch(1, { name: 'x' }, {})).status).toBe(401);
    expect(asked).toEqual({ monolith: before.monolith + 1, services: before.services });
  });

  it('follows customers back to the monolith: the services saying it keeps them send the write there', async () => {
    // Handed back: the monolith writes again, the services refuse.
    Object.assign(sides, { monolithOwns: true, kept: 1_000_000, moving: 0 });
    const before = { ...asked };
    expect(await patch(1, { address: '1 Returned Road' })).toMatchObject({
      status: 200,
      body: { address: '1 Returned Road' },
    });
    expect(asked).toEqual({ monolith: before.monolith + 1, services: before.services + 1 });
    expect(monolithRows.get(1)?.address).toBe('1 Returned Road');
    // An email change goes to the monolith, which writes it.
    expect(await patch(2, { email: 'customer2@new.example' })).toMatchObject({
      status: 200,
      body: { email: 'customer2@new.example' },
    });
    expect(asked).toEqual({ monolith: before.monolith + 2, services: before.services + 1 });
  });

  it('sends every write to the services once the table has no cluster for the monolith (retired), an email change refused without asking it', async () => {
    Object.assign(sides, { monolithOwns: false, kept: 0, moving: 0 });
    servicesOnly();
    // Reloaded when the file changes: an email change refused without asking the monolith (which is
    // asked first while the table has it) says the table is in force.
    await waitFor('the table without the monolith', async () => {
      const before = asked.monolith;
      const refused = await patch(3, { email: 'probe@legacy.example' });
      return refused.status === 422 && asked.monolith === before;
    });
    const before = { ...asked };
    expect(await patch(1, { name: 'Written Here For Good' })).toMatchObject({
      status: 200,
      body: { name: 'Written Here For Good' },
    });
    expect(await patch(1, { email: 'changed@legacy.example' })).toMatchObject({
      status: 422,
      body: { code: 'LEGACY.EMAIL_NOT_MOVED' },
    });
    expect(asked).toEqual({ monolith: before.monolith, services: before.services + 1 });
    // A customer the services say the monolith keeps cannot be written anywhere: 503, not a hold.
    sides.kept = 1;
    expect(await patch(2, { name: 'Nowhere' })).toMatchObject({
      status: 503,
      body: { code: 'LEGACY.UNAVAILABLE' },
    });
    expect(asked).toEqual({ monolith: before.monolith, services: before.services + 2 });
    // The table in force, as the retirement asks every gateway: no cluster for the monolith left.
    const table = await fetch(`${url}/admin/routing-table`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const { version, document } = (await table.json()) as {
      version: number;
      document: { clusters: Record<string, unknown>; routes: Array<{ name: string }> };
    };
    expect(version).toBeGreaterThanOrEqual(2);
    expect(Object.keys(document.clusters)).not.toContain('legacy');
    expect(document.routes.map((route) => route.name)).toEqual(['legacy-customer-writes']);
    expect((await fetch(`${url}/admin/routing-table`)).status).toBe(401);
  });
});
