import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Code, ConnectError } from '@connectrpc/connect';
import { createService, type GrpcServer, type Service } from '@mercato/chassis';
import { startGrpcStub, startTokenIssuer, waitFor } from '@mercato/chassis/testing';
import { CustomerService } from '@mercato/contracts/grpc/customer';
import fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayConfig } from '../src/config.ts';
import { gatewayDefinition } from '../src/gateway.service.ts';

interface LegacyCustomer {
  id: number;
  email: string;
  name: string;
  address: string;
  createdAt: string;
  updatedAt: string;
}

const long = '2024-01-01T00:00:00.000Z';
const monolithRows = new Map<number, LegacyCustomer>(
  [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((id) => [
    id,
    {
      id,
      email: `customer${id}@legacy.example`,
      name: `Customer ${id}`,
      address: `${id} Old Street`,
      createdAt: '2023-01-01T00:00:00.000Z',
      updatedAt: long,
    },
  ]),
);
/** What the services hold: the same, except customer 3's address (a take-over fault) and 4's name (a change in flight). */
const servicesRows = new Map([...monolithRows].map(([id, row]) => [id, { ...row }]));
(servicesRows.get(3) as LegacyCustomer).address = '3 Wrong Street';
const calls = { monolith: 0, services: 0 };
const ADMIN_TOKEN = 'a'.repeat(43);

describe('a customer read of the monolith, moved by the routing table (strangler fig, phase 2)', () => {
  const routesFile = join(mkdtempSync(join(tmpdir(), 'gateway-legacy-reads-')), 'routes.json');
  let grpc: GrpcServer;
  let monolith: FastifyInstance;
  let issuer: Awaited<ReturnType<typeof startTokenIssuer>>;
  let gateway: Service<GatewayConfig>;
  let url = '';
  let admin: Record<string, string> = {};

  const table = (experiment: unknown) => {
    const grpcCluster = { protocol: 'grpc', backends: [{ name: 'stub', url: grpcUrl }] };
    const clusters: Record<string, unknown> = Object.fromEntries(
      ['catalog', 'identity', 'customer', 'pricing', 'inventory', 'order', 'fulfillment', 'notification'].map(
        (name) => [name, grpcCluster],
      ),
    );
    clusters.legacy = { protocol: 'http', backends: [{ url: monolithUrl }] };
    const reads = {
      name: 'legacy-customer-reads',
      match: { methods: ['GET'], path: '/legacy/api/customers/:id' },
    };
    writeFileSync(
      routesFile,
      JSON.stringify({
        clusters,
        routes: [
          ...(experiment ? [{ ...reads, experiment }] : []),
          {
            name: 'legacy',
            match: { path_prefix: '/legacy/api/' },
            proxy: 'legacy',
            strip_prefix: '/legacy',
          },
        ],
      }),
    );
  };
  let grpcUrl = '';
  let monolithUrl = '';

  beforeAll(async () => {
    issuer = await startTokenIssuer();
    admin = { authorization: `Bearer ${await issuer.tokenFor('usr_root', ['admin'])}` };
    const stub = await startGrpcStub((router) =>
      router.service(CustomerService, {
        getCustomer: (request) => {
          calls.services += 1;
          const row = servicesRows.get(Number(request.id.replace('usr_legacy_', '')));
          if (!row) throw new ConnectError(`no customer ${request.id}`, Code.NotFound);
          return { customer: { ...row, segment: 'standard', id: request.id } };
        },
      }),
    );
    grpc = stub.server;
    grpcUrl = stub.url;
    monolith = fastify();
    monolith.get<{ Params: { id: string } }>('/api/customers/:id', async (request, reply) => {
      calls.monolith += 1;
      const row = monolithRows.get(Number(request.params.id));
      if (row) return row;
      return reply
        .code(404)
        .type('application/problem+json')
        .send({
          code: 'LEGACY.NOT_FOUND',
          detail: `Customer ${request.params.id} does not exist`,
          status: 404,
        });
    });
    await monolith.listen({ host: '127.0.0.1', port: 0 });
    monolithUrl = `http://127.0.0.1:${(monolith.server.address() as AddressInfo).port}`;
    table(undefined);
    gateway = await createService(gatewayDefinition, {
      PORT: '0',
      LOG_LEVEL: 'silent',
      GATEWAY_ROUTES_FILE: routesFile,
      IDENTITY_URL: issuer.url,
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

  const read = async (id: number | string, headers = admin) => {
    const response = await fetch(`${url}/legacy/api/customers/${id}`, { headers });
    return { status: response.status, body: (await response.json()) as LegacyCustomer & { code?: string } };
  };
  const report = async () => {
    // The operators' endpoint, as `mercato experiments gateway` reads it (the run's admin token).
    const response = await fetch(`${url}/admin/experiments?limit=5`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const body = (await response.json()) as { experiments: Array<Record<string, unknown>> };
    if (!body.experiments) throw new Error(`/admin/experiments: ${response.status} ${JSON.stringify(body)}`);
    const { experiments } = body;
    return experiments.find((experiment) => experiment.name === 'legacy-customer-reads') ?? {};
  };
  /** Switches the table and waits until a read shows the switch took (the gateway reloads the file). */
  const phase = async (experiment: unknown, took: () => Promise<boolean>) => {
    table(experiment);
    await waitFor('the routing table reloaded', took, 5_000, 50);
  };
  /** Whether a read of customer 1 asks the services. */
  const servicesAsked = async () => {
    const before = calls.services;
    await read(1);
    return calls.services > before;
  };

  it('phase 1: the path is proxied to the monolith; the services are not asked', async () => {
    const before = { ...calls };
    expect(await read(3)).toEqual({ status: 200, body: monolithRows.get(3) });
    expect(calls).toEqual({ monolith: before.monolith + 1, services: before.services });
  });

  it('shadow: the monolith answers, the services are compared, and the one real difference is reported', async () => {
    await phase({ mode: 'shadow' }, servicesAsked);
    await waitFor('the first comparisons recorded', async () => (await report()).compared !== 0, 5_000, 50);
    const { compared } = await report();
    // Customer 4 was just renamed in the monolith: the change is still on its way to the services.
    (monolithRows.get(4) as LegacyCustomer).name = 'Renamed 4';
    (monolithRows.get(4) as LegacyCustomer).updatedAt = new Date().toISOString();
    for (const id of [1, 2, 3, 4, 99]) {
      const answer = await read(id);
      if (id === 99) expect(answer).toMatchObject({ status: 404, body: { code: 'LEGACY.NOT_FOUND' } });
      else expect(answer).toEqual({ status: 200, body: monolithRows.get(id) });
    }
    await waitFor(
      'every comparison recorded',
      async () => (await report()).compared === Number(compared) + 5,
    );
    const shadow = await report();
    // 1, 2 and the 404 match; 4 differs but was changed within the settle window; 3 is the fault.
    expect(shadow).toMatchObject({
      mode: 'shadow',
      mismatches: 1,
      ignored: 1,
      candidate_errors: 0,
    });
    expect((shadow.recent as unknown[])[0]).toMatchObject({
      subject: '3',
      input: { id: 3 },
      control: { address: '3 Old Street' },
      candidate: { address: '3 Wrong Street' },
    });
  });

  it('candidate: the services answer for their share of customers, alone; at 100 % for all', async () => {
    await phase(
      { mode: 'candidate', candidate_percent: 100 },
      async () => (await read(3)).body.address === '3 Wrong Street',
    );
    const before = { ...calls };
    expect(await read(3)).toEqual({ status: 200, body: servicesRows.get(3) });
    expect(await read(99)).toMatchObject({ status: 404, body: { code: 'LEGACY.NOT_FOUND' } });
    expect(calls).toEqual({ monolith: before.monolith, services: before.services + 2 });
    // And back: the monolith again, by the table alone.
    await phase(undefined, async () => (await read(3)).body.address === '3 Old Street');
  });

  it('lets only the shop’s operators read, and refuses a malformed id before asking anyone', async () => {
    await phase({ mode: 'shadow' }, servicesAsked);
    const customer = { authorization: `Bearer ${await issuer.tokenFor('usr_legacy_3')}` };
    expect((await read(3, customer)).status).toBe(403);
    expect((await read(3, {})).status).toBe(401);
    const before = { ...calls };
    for (const bad of ['0', 'abc', '1e3', '9007199254740993']) expect((await read(bad)).status).toBe(400);
    expect(calls).toEqual(before);
  });
});
