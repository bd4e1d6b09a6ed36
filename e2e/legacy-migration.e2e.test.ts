import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@mercato/chassis/testing';
import { legacyOrderStatus } from '@mercato/contracts';
import { demoAdmin } from '@mercato/demo-shop';
import { afterAll, describe, expect, it } from 'vitest';
import { formatDrift } from '../apps/cli/src/commands/migrate.ts';
import type { DriftReport } from '../apps/cli/src/migration/drift-checker.ts';
import { superuserClient } from './support/platform-process.ts';
import { mercato } from './support/release-cli.ts';
import { suitePlatform } from './support/suite-platform.ts';

const ports = { postgres: 25436, gateway: 19980, base: 13601, grpcBase: 12601 };
const gateway = `http://127.0.0.1:${ports.gateway}`;

// The gateway reads a copy of the shipped routing table, which the phase-2 test edits (the gateway
// reloads it on change) to move customer reads, and puts back.
const shippedRoutes = fileURLToPath(new URL('../apps/gateway/config/routes.json', import.meta.url));
const routesFolder = mkdtempSync(path.join(tmpdir(), 'mercato-legacy-routes-'));
const routesFile = path.join(routesFolder, 'routes.json');
copyFileSync(shippedRoutes, routesFile);
// Removed once the file's tests ended: a hook at the file's level runs after the describe's own
// (the platform, which reads the table, stopped by then).
afterAll(() => rmSync(routesFolder, { recursive: true, force: true }));

type Experiment = { mode: string; candidate_percent?: number };

/**
 * The shipped table with customer reads of the monolith's API under `experiment` (none: as shipped),
 * with its customer writes sent to whichever side owns customers (`writes`, phase 3), its product
 * reads under `products` (phase 3 for the catalog), and without the proxy to the monolith once it
 * retired (`monolith` false).
 */
function writeRoutes(experiment?: Experiment, writes = false, products?: Experiment, monolith = true): void {
  const table = JSON.parse(readFileSync(shippedRoutes, 'utf8')) as {
    clusters: Record<string, unknown>;
    routes: Array<{ name: string }>;
  };
  if (products)
    table.routes.splice(
      table.routes.findIndex((route) => route.name === 'legacy'),
      0,
      ...[
        { name: 'legacy-product-list', path: '/legacy/api/products' },
        { name: 'legacy-product-reads', path: '/legacy/api/products/:id' },
      ].map(({ name, path }) => ({
        name,
        match: { methods: ['GET'], path },
        auth: 'required',
        roles: ['admin'],
        experiment: products,
      })),
    );
  if (writes)
    table.routes.splice(
      table.routes.findIndex((route) => route.name === 'legacy'),
      0,
      {
        name: 'legacy-customer-writes',
        match: { methods: ['PATCH'], path: '/legacy/api/customers/:id' },
        auth: 'required',
        roles: ['admin'],
      } as { name: string },
    );
  if (experiment) {
    const reads = {
      name: 'legacy-customer-reads',
      match: { methods: ['GET'], path: '/legacy/api/customers/:id' },
      auth: 'required',
      roles: ['admin'],
      experiment,
    };
    table.routes.splice(
      table.routes.findIndex((route) => route.name === 'legacy'),
      0,
      reads,
    );
  }
  // The monolith retired: nothing is sent to it any more, and the table has no cluster for it.
  if (!monolith) {
    table.routes = table.routes.filter((route) => route.name !== 'legacy');
    delete table.clusters.legacy;
  }
  writeFileSync(routesFile, JSON.stringify(table));
}

interface ExperimentReport {
  mode: string;
  compared: number;
  mismatches: number;
  candidate_errors: number;
  ignored: number;
  shed: number;
  candidate_answers: number;
  recent: unknown[];
}

interface Outcome {
  what: string;
  status: number;
}

/**
 * Phase 1 of the strangler fig (docs/strangler-fig.md): the monolith serves every write, and the
 * services follow it by change data capture — customers into customer, credentials into identity,
 * order history into order-view — while it is written to; the drift checker then finds every
 * customer and order of the monolith present and equal in the services, and a customer of the
 * monolith logs in to the services' API with the password they always had.
 */
describe('legacy migration, phase 1: the services follow the monolith', () => {
  const suite = suitePlatform('legacy-migration', ports, {
    MERCATO_LEGACY: '1',
    GATEWAY_ROUTES_FILE: routesFile,
    // People sign up with the services from one address here, several a second (the edge's default
    // lets an address ask /api/auth/* 10 times a minute).
    GATEWAY_RATE_LIMIT_CREDENTIALS: 'off',
  });

  const legacyUrl = async () => {
    const url = (await suite.platform.state()).services.legacy?.url;
    if (!url) throw new Error('the monolith is not in the run state');
    return url;
  };
  const drift = (query: string) => suite.platform.admin<DriftReport>(`migration/drift?${query}`);
  /** The checker's report once it finds no drift (asked every second for 30 s), printed; asserts 0. */
  const settledDrift = async () => {
    let report = await drift('settle_ms=0&rechecks=0');
    for (let attempt = 0; report.drift > 0 && attempt < 30; attempt += 1) {
      await sleep(1_000);
      report = await drift('settle_ms=0&rechecks=0');
    }
    console.log(formatDrift(report));
    expect(report.drift).toBe(0);
    return report;
  };

  it('keeps every customer and order of the monolith in the services while it is written to', async () => {
    const legacy = await legacyUrl();
    const send = async (what: string, method: string, path: string, body: unknown): Promise<Outcome> => {
      const response = await fetch(`${legacy}${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).catch(() => undefined);
      await response?.arrayBuffer();
      return { what, status: response?.status ?? 0 };
    };
    // About 12 writes a second for 15 s: registrations, profile edits, orders and their progress.
    const outcomes: Outcome[] = [];
    const started = Date.now();
    let n = 0;
    const writes: Promise<void>[] = [];
    while (Date.now() - started < 15_000) {
      n += 1;
      const customer = 1 + ((n * 7919) % 5_000);
      const write = (async () => {
        outcomes.push(
          await send('register', 'POST', '/api/customers', {
            email: `phase1-${n}@legacy.example`,
            name: `Phase One ${n}`,
            password: `secret-${n}`,
          }),
        );
        outcomes.push(await send('edit', 'PATCH', `/api/customers/${customer}`, { name: `Edited ${n}` }));
        const placed = await fetch(`${legacy}/api/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ customerId: customer, lines: [{ productId: 1 + (n % 200), quantity: 1 }] }),
        }).catch(() => undefined);
        outcomes.push({ what: 'order', status: placed?.status ?? 0 });
        const order = placed?.ok ? ((await placed.json()) as { id: number }) : undefined;
        if (order)
          outcomes.push(await send('pay', 'POST', `/api/orders/${order.id}/status`, { status: 'paid' }));
      })();
      writes.push(write);
      await sleep(330);
    }
    await Promise.all(writes);
    const failed = outcomes.filter((outcome) => outcome.status < 200 || outcome.status >= 300);
    console.log(`${outcomes.length} writes to the monolith, ${failed.length} failed`);
    expect(failed).toEqual([]);

    // Everything written is captured, published and taken over within a few seconds.
    const report = await settledDrift();
    expect(report.tables.customers.source).toBe(5_000 + n);
    expect(report.tables.orders.source).toBe(20_000 + n);
    expect(report.totals.orderView).toBe(report.totals.legacy);
  });

  it('lets a customer of the monolith log in to the services with the password they had', async () => {
    const login = async (email: string, password: string) =>
      fetch(`${gateway}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password }),
      });
    const refused = await login('customer17@legacy.example', 'not-the-password');
    expect(refused.status).toBe(401);
    const answered = await login('customer17@legacy.example', 'legacy-17');
    expect(answered.status).toBe(200);
    const { access_token: token } = (await answered.json()) as { access_token: string };
    const headers = { authorization: `Bearer ${token}` };
    const me = (await (await fetch(`${gateway}/api/customers/me`, { headers })).json()) as { id: string };
    expect(me.id).toBe('usr_legacy_17');
    // One writer: the monolith keeps this customer's name until customers move.
    const renamed = await fetch(`${gateway}/api/customers/me`, {
      method: 'PATCH',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Written In The Services' }),
    });
    expect(renamed.status).toBe(409);
    expect(renamed.headers.get('content-type')).toContain('application/problem+json');
    expect(await renamed.json()).toMatchObject({
      code: 'CUSTOMER.KEPT_BY_MONOLITH',
      detail: expect.stringContaining('/legacy/api/customers/17'),
    });
    const orders = (await (await fetch(`${gateway}/api/orders?page_size=100`, { headers })).json()) as {
      orders: Array<{ order_id: string }>;
    };
    const legacyOrders = await (await fetch(`${await legacyUrl()}/api/customers/17/orders?limit=100`)).json();
    expect(orders.orders.map((order) => order.order_id).sort()).toEqual(
      (legacyOrders as { items: Array<{ id: number }> }).items
        .map((order) => `ord_legacy_${order.id}`)
        .sort(),
    );
    // Each of them opens as the monolith has it (order has no stream for it: order-view answers);
    // another customer's is the same 404 as an id that does not exist.
    const [first] = (legacyOrders as { items: Array<{ id: number; status: string; totalCents: number }> })
      .items;
    if (!first) throw new Error('customer 17 of the monolith has no order');
    const opened = await fetch(`${gateway}/api/orders/ord_legacy_${first.id}`, { headers });
    expect(opened.status).toBe(200);
    expect(await opened.json()).toMatchObject({
      order_id: `ord_legacy_${first.id}`,
      customer_id: 'usr_legacy_17',
      status: legacyOrderStatus[first.status],
      total_minor: first.totalCents,
    });
    // It kept one status column, not a history: no events, where order would list its stream's.
    const events = await fetch(`${gateway}/api/orders/ord_legacy_${first.id}/events`, { headers });
    expect(await events.json()).toEqual({ order_id: `ord_legacy_${first.id}`, events: [] });
    const strangers = (await (
      await fetch(`${await legacyUrl()}/api/customers/18/orders?limit=1`)
    ).json()) as {
      items: Array<{ id: number }>;
    };
    for (const id of [`ord_legacy_${strangers.items[0]?.id}`, 'ord_legacy_99999999'])
      expect((await fetch(`${gateway}/api/orders/${id}`, { headers })).status).toBe(404);
    // A second login with the same password works after the first re-hashed it.
    expect((await login('customer17@legacy.example', 'legacy-17')).status).toBe(200);
  });

  /**
   * A signed-in user's access token, kept for the suite (15 minutes, longer than it runs): the edge
   * lets one address sign in 10 times a minute.
   */
  const tokens = new Map<string, Promise<string>>();
  const tokenOf = (email: string, password: string): Promise<string> => {
    const kept = tokens.get(email);
    if (kept) return kept;
    const signedIn = (async () => {
      const response = await fetch(`${gateway}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password }),
      });
      const body = (await response.json()) as { access_token?: string };
      if (!body.access_token)
        throw new Error(`signing in as ${email}: ${response.status} ${JSON.stringify(body)}`);
      return body.access_token;
    })();
    tokens.set(email, signedIn);
    signedIn.catch(() => tokens.delete(email));
    return signedIn;
  };

  it("serves the monolith's API at the edge under /legacy, to the shop's operators only", async () => {
    const admin = { authorization: `Bearer ${await tokenOf(demoAdmin.email, demoAdmin.password)}` };
    const direct = await (await fetch(`${await legacyUrl()}/api/customers/19`)).json();
    const edge = await fetch(`${gateway}/legacy/api/customers/19`, { headers: admin });
    expect(edge.status).toBe(200);
    expect(await edge.json()).toEqual(direct);
    // A write, whose Location names the edge's path to what it made.
    const created = await fetch(`${gateway}/legacy/api/customers`, {
      method: 'POST',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify({
        email: `edge-${Date.now()}@legacy.example`,
        name: 'At the Edge',
        password: 'edge-password',
      }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: number };
    expect(created.headers.get('location')).toBe(`/legacy/api/customers/${id}`);
    // The monolith's API checks nobody: the edge lets no customer and no anonymous caller in.
    const customer = { authorization: `Bearer ${await tokenOf('customer17@legacy.example', 'legacy-17')}` };
    expect((await fetch(`${gateway}/legacy/api/customers/19`, { headers: customer })).status).toBe(403);
    expect((await fetch(`${gateway}/legacy/api/customers/19`)).status).toBe(401);
  });

  it("phase 2: moves a share of the monolith's customer reads to the services, the rest compared in shadow, while it is written to", async () => {
    const admin = { authorization: `Bearer ${await tokenOf(demoAdmin.email, demoAdmin.password)}` };
    const runToken = (await readFile(path.join(suite.dataDir, 'run', 'admin-token'), 'utf8')).trim();
    const report = async () => {
      const response = await fetch(`${gateway}/admin/experiments?limit=3`, {
        headers: { authorization: `Bearer ${runToken}` },
      });
      const { experiments } = (await response.json()) as {
        experiments: Array<ExperimentReport & { name: string }>;
      };
      const found = experiments.find((experiment) => experiment.name === 'legacy-customer-reads');
      if (!found) throw new Error('the gateway runs no legacy-customer-reads experiment');
      return found;
    };
    let cursor = 0;
    /** `count` reads of customers spread over the monolith's 5,000, through the edge; their statuses. */
    const read = async (count: number) => {
      const statuses: number[] = [];
      for (let i = 0; i < count; i += 1) {
        cursor += 1;
        const response = await fetch(`${gateway}/legacy/api/customers/${1 + ((cursor * 7919) % 5_000)}`, {
          headers: admin,
        });
        await response.arrayBuffer();
        statuses.push(response.status);
      }
      return statuses;
    };
    const legacy = await legacyUrl();
    // Profile edits in the monolith all along, about ten a second: a read may meet a change still on
    // its way to the services (counted as ignored, not as a difference).
    let editing = true;
    const edits = (async () => {
      for (let n = 0; editing; n += 1) {
        await fetch(`${legacy}/api/customers/${1 + ((n * 104_729) % 5_000)}`, {
          method: 'PATCH',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ address: `${n} Phase Two Road` }),
        }).then((response) => response.arrayBuffer());
        await sleep(100);
      }
    })();
    try {
      writeRoutes({ mode: 'shadow' });
      await waitFor('the shadow phase in force', async () => {
        await read(1);
        return (await report()).compared > 0;
      });
      expect(await read(300)).toEqual(Array(300).fill(200));
      writeRoutes({ mode: 'candidate', candidate_percent: 10 });
      await waitFor('the services answering their share', async () => {
        await read(5);
        return (await report()).candidate_answers > 0;
      });
      expect(await read(200)).toEqual(Array(200).fill(200));
    } finally {
      editing = false;
      await edits;
    }
    await sleep(1_000); // the last comparisons recorded
    const moved = await report();
    console.log(
      `phase 2: ${moved.compared} reads compared in shadow (${moved.ignored} met a change on its way; ` +
        `${moved.shed} not compared: shed under load), ` +
        `${moved.candidate_answers} answered by the services alone, ${moved.mismatches} differences`,
      moved.recent,
    );
    expect(moved).toMatchObject({ mode: 'candidate', mismatches: 0, candidate_errors: 0 });
    expect(moved.compared).toBeGreaterThanOrEqual(300);
    expect(moved.candidate_answers).toBeGreaterThanOrEqual(10);

    // Back to phase 1 by the table alone: nobody but the monolith is asked.
    writeRoutes();
    await waitFor('phase 1 in force again', async () => {
      const before = await report();
      await read(20);
      const after = await report();
      return after.compared === before.compared && after.candidate_answers === before.candidate_answers;
    });
  });

  /**
   * Four writers at the edge, each editing its own 25 customers in turn (a name, then two
   * addresses), so every customer's acknowledged writes are ordered and the last one is known;
   * `switchOwner` runs after 2 s, the edits go on 4 s more. Asserts none failed and prints how long
   * writes were held; the acknowledged values by customer.
   */
  const editAcrossSwitch = async (label: string, switchOwner: () => Promise<void>) => {
    const admin = { authorization: `Bearer ${await tokenOf(demoAdmin.email, demoAdmin.password)}` };
    const acknowledged = new Map<number, { name?: string; address?: string }>();
    const outcomes: Array<{ status: number; ms: number; code?: string }> = [];
    const heldBefore = heldWrites().length;
    let editing = true;
    const writer = async (w: number) => {
      for (let n = 0; editing; n += 1) {
        const id = 100 + w * 25 + (n % 25);
        const changes =
          n % 3 === 0 ? { name: `${label} ${w}-${n}` } : { address: `${n} ${label} Road, ${w}` };
        const started = performance.now();
        const response = await fetch(`${gateway}/legacy/api/customers/${id}`, {
          method: 'PATCH',
          headers: { ...admin, 'content-type': 'application/json' },
          body: JSON.stringify(changes),
        }).catch(() => undefined);
        const answer = (await response?.json().catch(() => ({}))) as { code?: string };
        outcomes.push({ status: response?.status ?? 0, ms: performance.now() - started, code: answer.code });
        if (response?.ok) acknowledged.set(id, { ...acknowledged.get(id), ...changes });
        await sleep(20);
      }
    };
    const writers = [0, 1, 2, 3].map(writer);
    try {
      await sleep(2_000);
      await switchOwner();
      await sleep(4_000);
    } finally {
      editing = false;
      await Promise.all(writers);
    }
    const failed = outcomes.filter((outcome) => outcome.status !== 200);
    const held = heldWrites().slice(heldBefore);
    const slowest = Math.max(...outcomes.map((outcome) => outcome.ms));
    console.log(
      `${label}: ${outcomes.length} customer writes at the edge across the switch, ${failed.length} failed; ` +
        `${held.length} held while customers moved (longest ${Math.max(0, ...held)} ms); slowest write ${Math.round(slowest)} ms`,
    );
    const errors = suite.platform
      .jsonLines()
      .filter((line) => Number(line.level) >= 50)
      .slice(-10);
    expect(failed, JSON.stringify(errors, null, 1)).toEqual([]);
    return acknowledged;
  };
  const heldWrites = () =>
    suite.platform
      .jsonLines()
      .filter((line) => String(line.message).startsWith('a customer write held while customers moved'))
      .map((line) => Number(line.held_ms));

  /** Every customer's last acknowledged write is in the monolith, and the checker finds the services equal. */
  const expectNothingLost = async (acknowledged: Map<number, { name?: string; address?: string }>) => {
    const legacy = await legacyUrl();
    await waitFor('the monolith holding every acknowledged write', async () => {
      for (const [id, expected] of acknowledged) {
        const row = await (await fetch(`${legacy}/api/customers/${id}`)).json();
        if (expect.objectContaining(expected).asymmetricMatch(row) !== true) return false;
      }
      return true;
    });
    await settledDrift();
  };
  const renameDirectly = async (id: number, name: string) =>
    fetch(`${await legacyUrl()}/api/customers/${id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name }),
    });
  const renameSelf = async (name: string) =>
    fetch(`${gateway}/api/customers/me`, {
      method: 'PATCH',
      headers: {
        authorization: `Bearer ${await tokenOf('customer17@legacy.example', 'legacy-17')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ name }),
    });

  /** The monolith's shelf of one of its products, as its own API answers. */
  const shelfOf = async (product: number) =>
    (
      (await (await fetch(`${await legacyUrl()}/api/products/${product}`)).json()) as {
        stockQuantity: number;
      }
    ).stockQuantity;
  /** Inventory's level of a SKU at the edge. */
  const levelOf = async (sku: string) =>
    (await (await fetch(`${gateway}/api/inventory/stock/${sku}`)).json()) as {
      available: number;
      reserved: number;
      warehouses: Array<{ warehouse_id: string; available: number }>;
    };
  /** One unit of the monolith's product 60 ordered from the services by customer 17. */
  const orderFromServices = async (key: string) =>
    fetch(`${gateway}/api/orders`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await tokenOf('customer17@legacy.example', 'legacy-17')}`,
        'content-type': 'application/json',
        'idempotency-key': key,
      },
      body: JSON.stringify({ items: [{ sku: 'LEG-0060', quantity: 1 }], shipping_address: '17 Old Street' }),
    });
  /** The status of customer 17's order once it is no longer pending. */
  const settledStatus = async (orderId: string) => {
    const headers = { authorization: `Bearer ${await tokenOf('customer17@legacy.example', 'legacy-17')}` };
    let status = 'pending';
    await waitFor(
      `order ${orderId} settled`,
      async () => {
        status = (
          (await (await fetch(`${gateway}/api/orders/${orderId}`, { headers })).json()) as { status: string }
        ).status;
        return status !== 'pending';
      },
      30_000,
    );
    return status;
  };

  it("phase 3 for the catalog: the monolith's product reads answered by the services, compared in shadow first, while it takes orders", async () => {
    const admin = { authorization: `Bearer ${await tokenOf(demoAdmin.email, demoAdmin.password)}` };
    const runToken = (await readFile(path.join(suite.dataDir, 'run', 'admin-token'), 'utf8')).trim();
    const report = async (name: string) => {
      const response = await fetch(`${gateway}/admin/experiments?limit=3`, {
        headers: { authorization: `Bearer ${runToken}` },
      });
      const { experiments } = (await response.json()) as {
        experiments: Array<ExperimentReport & { name: string }>;
      };
      const found = experiments.find((experiment) => experiment.name === name);
      if (!found) throw new Error(`the gateway runs no ${name} experiment`);
      return found;
    };
    interface Product {
      id: number;
      stockQuantity: number;
      [field: string]: unknown;
    }
    const read = async (at: string) => {
      const response = await fetch(`${gateway}/legacy/api/products${at}`, { headers: admin });
      return { status: response.status, body: (await response.json()) as Product & { items: Product[] } };
    };
    const legacy = await legacyUrl();
    // Orders placed in the monolith all along, about five a second: its shelf moves under the reads.
    let ordering = true;
    const placed: number[] = [];
    const orders = (async () => {
      for (let n = 0; ordering; n += 1) {
        const response = await fetch(`${legacy}/api/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            customerId: 1 + (n % 5_000),
            lines: [{ productId: 1 + (n % 200), quantity: 1 }],
          }),
        });
        await response.arrayBuffer();
        placed.push(response.status);
        await sleep(200);
      }
    })();
    const withoutStock = ({ stockQuantity: _stock, ...rest }: Product) => rest;
    try {
      writeRoutes(undefined, false, { mode: 'shadow' });
      await waitFor('the shadow phase in force', async () => {
        await read('/1');
        return (await report('legacy-product-reads')).compared > 0;
      });
      const statuses: number[] = [];
      for (let id = 1; id <= 200; id += 1) statuses.push((await read(`/${id}`)).status);
      // Lists until three were compared (a comparison whose side was shed under load is not one).
      for (let n = 0; n < 20 && (n < 3 || (await report('legacy-product-list')).compared < 3); n += 1)
        statuses.push((await read('')).status);
      expect(statuses).toEqual(Array(statuses.length).fill(200));
      await sleep(1_000); // the last comparisons recorded
      const [one, list] = [await report('legacy-product-reads'), await report('legacy-product-list')];
      console.log(
        `catalog in shadow: ${one.compared} product reads compared (${one.ignored} differed in stock only, ` +
          `${one.shed} not compared: shed under load), ${one.mismatches} differences; ` +
          `${list.compared} lists compared, ${list.mismatches} differences`,
        one.recent,
        list.recent,
      );
      expect(one).toMatchObject({ mode: 'shadow', mismatches: 0, candidate_errors: 0 });
      expect(list).toMatchObject({ mismatches: 0, candidate_errors: 0 });
      expect(list.compared).toBeGreaterThanOrEqual(3);

      // Every product read answered by the services alone: catalog, pricing and inventory composed.
      writeRoutes(undefined, false, { mode: 'candidate', candidate_percent: 100 });
      await waitFor('the services answering', async () => {
        await read('/1');
        return (await report('legacy-product-reads')).candidate_answers > 0;
      });
      const before = await report('legacy-product-reads');
      const fromServices = await read('/7');
      const fromMonolith = (await (await fetch(`${legacy}/api/products/7`)).json()) as Product;
      expect(fromServices.status).toBe(200);
      expect(withoutStock(fromServices.body)).toEqual(withoutStock(fromMonolith));
      const listed = await read('');
      const monolithList = (await (await fetch(`${legacy}/api/products`)).json()) as { items: Product[] };
      expect(listed.body.items.map(withoutStock)).toEqual(monolithList.items.map(withoutStock));
      expect((await report('legacy-product-reads')).candidate_answers).toBe(before.candidate_answers + 1);
    } finally {
      ordering = false;
      await orders;
    }
    expect(placed.filter((status) => status !== 201)).toEqual([]);
    // Back to the monolith by the table alone.
    writeRoutes();
    await waitFor('the monolith answering again', async () => {
      const before = (await report('legacy-product-reads')).candidate_answers;
      await read('/1');
      return (await report('legacy-product-reads')).candidate_answers === before;
    });
  });

  it('phase 3: moves customer writes to the services while they are edited at the edge, none refused and none lost, the monolith following', async () => {
    const legacy = await legacyUrl();
    const tablesApplied = () =>
      suite.platform.jsonLines().filter((line) => /^routing table v\d+ applied$/.test(String(line.message)))
        .length;
    const applied = tablesApplied();
    writeRoutes(undefined, true);
    await waitFor('the write route in force', async () => tablesApplied() > applied);

    const acknowledged = await editAcrossSwitch('Phase Three', async () => {
      // The monolith gives customers up.
      const moved = await mercato(suite.dataDir, ['migrate', 'move', 'customers']);
      expect(moved, moved.output).toMatchObject({
        code: 0,
        output: expect.stringContaining('written by the services'),
      });
    });
    // Nothing lost: the services' writes taken back into the monolith, and equal row by row.
    await expectNothingLost(acknowledged);

    // One writer: the monolith's own API refuses a profile write now, and a customer of the monolith
    // renames themselves in the services, which the monolith follows.
    const direct = await renameDirectly(17, 'Written In The Monolith');
    expect(direct.status).toBe(409);
    expect(await direct.json()).toMatchObject({ code: 'LEGACY.CAPABILITY_MOVED' });
    expect((await renameSelf('Written In The Services')).status).toBe(200);
    await waitFor(
      'the monolith following the rename',
      async () =>
        ((await (await fetch(`${legacy}/api/customers/17`)).json()) as { name: string }).name ===
        'Written In The Services',
    );
  });

  it('phase 3 undone: the services hand customers back while they are edited at the edge, none refused and none lost, the services following again', async () => {
    const acknowledged = await editAcrossSwitch('Handed Back', async () => {
      const handedBack = await mercato(suite.dataDir, ['migrate', 'move', 'customers', '--back']);
      expect(handedBack, handedBack.output).toMatchObject({
        code: 0,
        output: expect.stringContaining('handed back'),
      });
    });
    await expectNothingLost(acknowledged);
    // The monolith writes customers again, and the services follow; they refuse a write of their own.
    expect((await renameDirectly(17, 'Written In The Monolith Again')).status).toBe(200);
    await waitFor('the services following', async () => (await drift('settle_ms=0&rechecks=0')).drift === 0);
    const refused = await renameSelf('Written In The Services Again');
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ code: 'CUSTOMER.KEPT_BY_MONOLITH' });
  });

  it('phase 3 for orders: new orders move to the services while they are placed, the monolith finishing those it took and its shelf becoming inventory’s', async () => {
    const admin = { authorization: `Bearer ${await tokenOf(demoAdmin.email, demoAdmin.password)}` };
    // An order the monolith took before the move, cancelled after it: its stock goes back on its
    // shelf, and from there to inventory's.
    const taken = await fetch(`${gateway}/legacy/api/orders`, {
      method: 'POST',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify({ customerId: 18, lines: [{ productId: 61, quantity: 3 }] }),
    });
    expect(taken.status).toBe(201);
    const { id: takenId } = (await taken.json()) as { id: number };

    // Orders all along, as the shop's front end places them: through the monolith's API at the edge
    // until it refuses one (it moved), which is held until the move is done (the command returns) and
    // placed with the services, as every later one is (customer 17, product 60).
    const monolithAnswers: Array<{ status: number; code?: string }> = [];
    const servicesOrders: string[] = [];
    const servicesAnswers: number[] = [];
    let switched = false;
    let refused = false;
    let placing = true;
    const placeWithServices = async (n: number) => {
      const response = await orderFromServices(`phase3-orders-${n}`);
      servicesAnswers.push(response.status);
      if (response.status === 202)
        servicesOrders.push(((await response.json()) as { order_id: string }).order_id);
      else await response.arrayBuffer();
    };
    const placer = (async () => {
      for (let n = 0; placing; n += 1) {
        if (refused) await placeWithServices(n);
        else {
          const response = await fetch(`${gateway}/legacy/api/orders`, {
            method: 'POST',
            headers: { ...admin, 'content-type': 'application/json' },
            body: JSON.stringify({ customerId: 1 + (n % 5_000), lines: [{ productId: 60, quantity: 1 }] }),
          });
          const body = (await response.json()) as { code?: string };
          monolithAnswers.push({ status: response.status, code: body.code });
          if (body.code === 'LEGACY.CAPABILITY_MOVED') {
            refused = true;
            await waitFor('the switch to the services', () => switched, 60_000);
            await placeWithServices(n);
          }
        }
        await sleep(150);
      }
    })();
    let shelfAtMove = 0;
    try {
      await sleep(2_000);
      const move = await mercato(suite.dataDir, ['migrate', 'move', 'orders']);
      expect(move, move.output).toMatchObject({
        code: 0,
        output: expect.stringContaining("inventory sells from the monolith's shelf"),
      });
      shelfAtMove = await shelfOf(60);
      switched = true;
      await waitFor('the services taking orders', async () => servicesAnswers.length >= 10, 30_000);
    } finally {
      placing = false;
      switched = true;
      refused = true;
      await placer;
    }
    // The monolith took orders until the move and refused every one after it, naming the services'.
    const refusedAt = monolithAnswers.findIndex((answer) => answer.status !== 201);
    expect(refusedAt).toBeGreaterThan(0);
    expect(monolithAnswers.slice(refusedAt)).toEqual([{ status: 409, code: 'LEGACY.CAPABILITY_MOVED' }]);
    expect(servicesAnswers.filter((status) => status !== 202)).toEqual([]);
    const outcomes = await Promise.all(servicesOrders.map(settledStatus));
    console.log(
      `phase 3 for orders: ${refusedAt} orders taken by the monolith, then ${servicesOrders.length} by the services (${outcomes.join(', ')})`,
    );
    expect(outcomes.filter((status) => status === 'cancelled' || status === 'failed')).toEqual([]);
    // Inventory sells from what was the monolith's shelf: each unit the services sold is gone from it.
    await waitFor(
      'the services’ units taken from the shelf',
      async () => (await levelOf('LEG-0060')).available === shelfAtMove - servicesOrders.length,
    );
    const level = await levelOf('LEG-0060');
    expect(level.warehouses).toHaveLength(1);

    // The monolith still moves the orders it took: one cancelled puts 3 back on its shelf, and inventory adds them.
    const before = (await levelOf('LEG-0061')).available;
    const shelfBefore = await shelfOf(61);
    const cancelled = await fetch(`${gateway}/legacy/api/orders/${takenId}/status`, {
      method: 'POST',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'cancelled' }),
    });
    expect(cancelled.status).toBe(200);
    expect(await shelfOf(61)).toBe(shelfBefore + 3);
    await waitFor(
      'inventory adding what the monolith put back',
      async () => (await levelOf('LEG-0061')).available === before + 3,
    );
    // The checker compares the shelf with inventory's copy of it, and the monolith's orders with order-view's.
    await settledDrift();
  });

  it('phase 3 for orders undone: inventory gives the shelf back, the monolith takes orders again with it whole', async () => {
    const admin = { authorization: `Bearer ${await tokenOf(demoAdmin.email, demoAdmin.password)}` };
    const available = async () => (await levelOf('LEG-0060')).available;
    // Orders with the services first; the front end holds new ones while the services' settle and
    // the command runs (switching back is the operator's, at a quiet moment), then sends them to the
    // monolith.
    const placed: string[] = [];
    for (let n = 0; n < 5; n += 1) {
      const response = await orderFromServices(`phase3-back-${n}`);
      expect(response.status).toBe(202);
      placed.push(((await response.json()) as { order_id: string }).order_id);
    }
    for (const orderId of placed) await settledStatus(orderId);
    const kept = await available();
    const began = performance.now();
    const back = await mercato(suite.dataDir, ['migrate', 'move', 'orders', '--back']);
    expect(back, back.output).toMatchObject({
      code: 0,
      output: expect.stringContaining('taken by the monolith again'),
    });
    console.log(
      `phase 3 for orders undone in ${Math.round(performance.now() - began)} ms; ${kept} units given back`,
    );
    // What inventory held is the monolith's shelf now, and it sells from it.
    expect(await shelfOf(60)).toBe(kept);
    const statuses: number[] = [];
    for (let n = 0; n < 5; n += 1) {
      const response = await fetch(`${gateway}/legacy/api/orders`, {
        method: 'POST',
        headers: { ...admin, 'content-type': 'application/json' },
        body: JSON.stringify({ customerId: 20 + n, lines: [{ productId: 60, quantity: 1 }] }),
      });
      await response.arrayBuffer();
      statuses.push(response.status);
    }
    expect(statuses).toEqual([201, 201, 201, 201, 201]);
    expect(await shelfOf(60)).toBe(kept - 5);
    // inventory follows the shelf again (the checker compares it); the services take no order of it.
    await waitFor('inventory following the shelf', async () => (await available()) === kept - 5);
    const refused = await orderFromServices('phase3-back-after');
    const { order_id: refusedId } = (await refused.json()) as { order_id: string };
    expect(['cancelled', 'failed']).toContain(await settledStatus(refusedId));
    await settledDrift();
  });

  it('phase 3 for registrations, there and back: the monolith signs nobody up while the services do, nobody lost', async () => {
    const admin = { authorization: `Bearer ${await tokenOf(demoAdmin.email, demoAdmin.password)}` };
    // People signing up all along, about six a second, as the shop's front end sends them: to the
    // monolith's API at the edge, to the services' once registrations moved, and back. One the
    // monolith refuses meanwhile is held until the command returns and sent to the services.
    const front = { target: 'monolith' as 'monolith' | 'services' };
    let signingUp = true;
    const outcomes: Array<{ email: string; where: 'monolith' | 'services'; status: number; code?: string }> =
      [];
    const toServices = async (email: string, password: string) => {
      const response = await fetch(`${gateway}/api/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password, name: 'Signed Up' }),
      });
      await response.arrayBuffer();
      outcomes.push({ email, where: 'services', status: response.status });
    };
    const signUps = (async () => {
      for (let n = 0; signingUp; n += 1) {
        const email = `phase3-signup-${n}@legacy.example`;
        const password = `password-${n}-long`;
        if (front.target === 'services') await toServices(email, password);
        else {
          const response = await fetch(`${gateway}/legacy/api/customers`, {
            method: 'POST',
            headers: { ...admin, 'content-type': 'application/json' },
            body: JSON.stringify({ email, name: 'Signed Up', password }),
          });
          const { code } = (await response.json()) as { code?: string };
          outcomes.push({ email, where: 'monolith', status: response.status, code });
          if (code === 'LEGACY.CAPABILITY_MOVED') {
            await waitFor('the switch to the services', () => front.target === 'services', 60_000);
            await toServices(email, password);
          }
        }
        await sleep(150);
      }
    })();
    try {
      await sleep(1_500);
      const moved = await mercato(suite.dataDir, ['migrate', 'move', 'registrations']);
      expect(moved, moved.output).toMatchObject({
        code: 0,
        output: expect.stringContaining('taken by the services'),
      });
      front.target = 'services';
      await sleep(1_500);
      const back = await mercato(suite.dataDir, ['migrate', 'move', 'registrations', '--back']);
      expect(back, back.output).toMatchObject({
        code: 0,
        output: expect.stringContaining('taken by the monolith'),
      });
      front.target = 'monolith';
      await sleep(1_000);
    } finally {
      signingUp = false;
      await signUps;
    }
    const refused = outcomes.filter((outcome) => outcome.status !== 201);
    const byMonolith = outcomes.filter((outcome) => outcome.where === 'monolith' && outcome.status === 201);
    const byServices = outcomes.filter((outcome) => outcome.where === 'services' && outcome.status === 201);
    console.log(
      `phase 3 for registrations: ${byMonolith.length} signed up by the monolith, ${byServices.length} by the services, ` +
        `${refused.length} refused (${refused.map((outcome) => outcome.code).join(', ')}) and sent to the services`,
    );
    // At most one refused by the monolith (held, then sent to the services); everyone signed up once.
    expect(refused.length).toBeLessThanOrEqual(1);
    expect(refused.every((outcome) => outcome.code === 'LEGACY.CAPABILITY_MOVED')).toBe(true);
    expect(new Set([...byMonolith, ...byServices].map((outcome) => outcome.email)).size).toBe(
      byMonolith.length + byServices.length,
    );
    expect(byServices.length).toBeGreaterThan(0);
    expect(byMonolith.length).toBeGreaterThan(1);
    // Each signs in to the services with their password, wherever they signed up.
    for (const who of [byMonolith[0], byServices[0], byMonolith.at(-1)]) {
      if (!who) continue;
      const n = who.email.replace(/^phase3-signup-(\d+)@.*$/, '$1');
      await waitFor(
        `${who.email} signing in`,
        async () => {
          const response = await fetch(`${gateway}/api/auth/login`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ email: who.email, password: `password-${n}-long` }),
          });
          await response.arrayBuffer();
          return response.status === 200;
        },
        15_000,
      );
    }
    await settledDrift();
  });

  it('the whole way: under registrations, profile edits, orders and reads, every capability moves to the services and the monolith retires, no request failed and nothing lost', async () => {
    const admin = { authorization: `Bearer ${await tokenOf(demoAdmin.email, demoAdmin.password)}` };
    const legacy = await legacyUrl();
    const tablesApplied = () =>
      suite.platform.jsonLines().filter((line) => /^routing table v\d+ applied$/.test(String(line.message)))
        .length;
    const route = async (...table: Parameters<typeof writeRoutes>) => {
      const applied = tablesApplied();
      writeRoutes(...table);
      await waitFor('the routing table in force', async () => tablesApplied() > applied);
    };
    // Phase 2 for reads (compared in shadow), customer writes sent to whichever side writes them.
    await route({ mode: 'shadow' }, true, { mode: 'shadow' });

    // The shop's front end, all along: where it sends each kind of request moves with the phases.
    const front = { orders: 'monolith', registrations: 'monolith' } as Record<
      string,
      'monolith' | 'services'
    >;
    const failed: Array<{ what: string; status: number; code?: string }> = [];
    const counts = new Map<string, number>();
    const count = (what: string) => counts.set(what, (counts.get(what) ?? 0) + 1);
    const edits = new Map<number, { name?: string; address?: string }>();
    const signedUp: Array<{ email: string; password: string; where: string }> = [];
    const servicesOrders: string[] = [];
    let running = true;
    const answer = async (what: string, response: Response | undefined) => {
      // No response at all (the connection failed) is a failure too, counted as status 0.
      const body = ((await response?.json().catch(() => ({}))) ?? {}) as { code?: string };
      if (!response?.ok && body.code !== 'LEGACY.CAPABILITY_MOVED')
        failed.push({ what, status: response?.status ?? 0, code: body.code });
      else count(what);
      return body;
    };
    const post = (url: string, body: unknown, headers: Record<string, string> = admin) =>
      fetch(url, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).catch(() => undefined);
    /**
     * A request the monolith refused because its capability moved: held until the front end switched
     * (the move's command returned), or until the steps ended (a command failed: that failure is the
     * one reported, below); says whether it switched. Longer than any command's own wait (60 s).
     */
    const heldFor = async (capability: string): Promise<boolean> => {
      await waitFor(
        `the front end sending ${capability} to the services`,
        () => front[capability] === 'services' || !running,
        120_000,
      );
      return front[capability] === 'services';
    };
    const loop = async (pauseMs: number, step: (n: number) => Promise<void>) => {
      for (let n = 0; running; n += 1) {
        await step(n);
        await sleep(pauseMs);
      }
    };
    const customer17 = { authorization: `Bearer ${await tokenOf('customer17@legacy.example', 'legacy-17')}` };
    // Registrations the edge timed out (504) and the front end asked again, finding the account made.
    const askedAgain: Array<{ email: string; password: string }> = [];
    const registerWithServices = async (email: string, password: string) => {
      const register = () => post(`${gateway}/api/auth/register`, { email, password, name: 'Whole Way' }, {});
      const first = await register();
      // A 504 is an answer without an outcome: identity may finish the registration after the edge
      // gave up on it (CI, 5 Dec: one took longer than the edge's 3 s while the machine ran three suites).
      // The front end asks again, as a person presses the button again; "email taken" then says the
      // first went through, which signing in with its password checks at the end.
      if (first?.status !== 504) {
        await answer('registration', first);
        return void signedUp.push({ email, password, where: 'services' });
      }
      await first.arrayBuffer();
      await sleep(1_000);
      const again = await register();
      const taken =
        again?.status === 409 &&
        (
          (await again
            .clone()
            .json()
            .catch(() => ({}))) as { code?: string }
        ).code === 'IDENTITY.EMAIL_TAKEN';
      if (taken) {
        await again.arrayBuffer();
        count('registration');
        askedAgain.push({ email, password });
      } else await answer('registration', again);
      signedUp.push({ email, password, where: 'services' });
    };
    const orderWithServices = async (n: number) => {
      const response = await post(
        `${gateway}/api/orders`,
        { items: [{ sku: 'LEG-0062', quantity: 1 }], shipping_address: '17 Old Street' },
        { ...customer17, 'idempotency-key': `whole-way-${n}` },
      );
      const body = (await answer('order', response)) as { order_id?: string };
      if (response?.status === 202 && body.order_id) servicesOrders.push(body.order_id);
    };
    const traffic = [
      // Registrations, about three a second.
      loop(300, async (n) => {
        const email = `whole-way-${n}@legacy.example`;
        const password = `whole-way-${n}-password`;
        if (front.registrations === 'services') return registerWithServices(email, password);
        const body = await answer(
          'registration',
          await post(`${gateway}/legacy/api/customers`, { email, name: 'Whole Way', password }),
        );
        if (body.code !== 'LEGACY.CAPABILITY_MOVED')
          return void signedUp.push({ email, password, where: 'monolith' });
        if (await heldFor('registrations')) await registerWithServices(email, password);
      }),
      // Profile edits at the edge, about ten a second, 20 customers in turn (the last write of each known).
      loop(100, async (n) => {
        const id = 200 + (n % 20);
        const changes = n % 2 === 0 ? { name: `Whole Way ${n}` } : { address: `${n} Whole Way` };
        const response = await fetch(`${gateway}/legacy/api/customers/${id}`, {
          method: 'PATCH',
          headers: { ...admin, 'content-type': 'application/json' },
          body: JSON.stringify(changes),
        }).catch(() => undefined);
        await answer('profile edit', response);
        if (response?.ok) edits.set(id, { ...edits.get(id), ...changes });
      }),
      // Orders, about four a second.
      loop(250, async (n) => {
        if (front.orders === 'services') return orderWithServices(n);
        const body = await answer(
          'order',
          await post(`${gateway}/legacy/api/orders`, {
            customerId: 1 + (n % 5_000),
            lines: [{ productId: 62, quantity: 1 }],
          }),
        );
        if (body.code !== 'LEGACY.CAPABILITY_MOVED') return;
        if (await heldFor('orders')) await orderWithServices(n);
      }),
      // Reads of customers and products at the edge, about ten a second.
      loop(100, async (n) => {
        const path =
          n % 2 === 0 ? `/legacy/api/customers/${1 + (n % 5_000)}` : `/legacy/api/products/${1 + (n % 200)}`;
        await answer('read', await fetch(`${gateway}${path}`, { headers: admin }).catch(() => undefined));
      }),
    ];
    const run = async (args: string[], expected: string) => {
      const began = performance.now();
      const result = await mercato(suite.dataDir, args);
      expect(result, result.output).toMatchObject({ code: 0, output: expect.stringContaining(expected) });
      console.log(`mercato ${args.join(' ')}: ${Math.round(performance.now() - began)} ms`);
      return result.output;
    };
    let retirement = '';
    try {
      await sleep(1_500);
      await run(['migrate', 'move', 'customers'], 'written by the services');
      // Reads answered by the services alone.
      await route({ mode: 'candidate', candidate_percent: 100 }, true, {
        mode: 'candidate',
        candidate_percent: 100,
      });
      await run(['migrate', 'move', 'orders'], "inventory sells from the monolith's shelf");
      front.orders = 'services';
      await run(['migrate', 'move', 'registrations'], 'taken by the services');
      front.registrations = 'services';
      // The back office finishes every order the monolith took: shipped ones delivered, paid ones
      // shipped then delivered, placed ones cancelled (their stock going to inventory's shelf).
      const backOffice = async (from: string, to: string) => {
        for (;;) {
          const { ids } = (await (await fetch(`${legacy}/api/orders?status=${from}&limit=1000`)).json()) as {
            ids: number[];
          };
          if (ids.length === 0) return;
          const moved = await post(`${legacy}/api/orders/statuses`, { status: to, ids }, {});
          expect(moved?.status).toBe(200);
        }
      };
      // Refused while the routing table still reaches the monolith, then while its orders are
      // unfinished; nothing changed either time.
      const routed = await mercato(suite.dataDir, ['migrate', 'retire']);
      expect(routed, routed.output).toMatchObject({
        code: 64,
        output: expect.stringContaining(
          'still sends requests to the monolith (gateway: cluster legacy; gateway: route legacy proxies to legacy)',
        ),
      });
      // Nothing is sent to the monolith any more: customer writes go to the services alone.
      await route(
        { mode: 'candidate', candidate_percent: 100 },
        true,
        { mode: 'candidate', candidate_percent: 100 },
        false,
      );
      const early = await mercato(suite.dataDir, ['migrate', 'retire']);
      expect(early, early.output).toMatchObject({
        code: 64,
        output: expect.stringContaining('orders to finish'),
      });
      const finishing = performance.now();
      await backOffice('shipped', 'delivered');
      await backOffice('paid', 'shipped');
      await backOffice('shipped', 'delivered');
      await backOffice('placed', 'cancelled');
      console.log(
        `the back office finished the monolith's orders in ${Math.round(performance.now() - finishing)} ms`,
      );
      retirement = await run(['migrate', 'retire'], 'the monolith retired at');
      await sleep(2_000);
    } finally {
      running = false;
      // Settled here, thrown after: a failed step's own error (a command's) is the one reported.
      await Promise.allSettled(traffic);
    }
    for (const loop of await Promise.allSettled(traffic)) if (loop.status === 'rejected') throw loop.reason;
    console.log(retirement);
    console.log(
      `the whole way: ${[...counts].map(([what, n]) => `${n} ${what}s`).join(', ')}; ${failed.length} failed; ` +
        `${signedUp.filter((who) => who.where === 'monolith').length} signed up by the monolith, ${servicesOrders.length} orders placed by the services; ` +
        `${askedAgain.length} registrations timed out at the edge and asked again`,
    );
    if (failed.length > 0) {
      const tally = new Map<string, number>();
      for (const { what, status, code } of failed) {
        const key = `${what} ${status} ${code ?? '-'}`;
        tally.set(key, (tally.get(key) ?? 0) + 1);
      }
      console.log(
        `failed, by request, status and code: ${[...tally].map(([key, n]) => `${key} ×${n}`).join('; ')}`,
      );
    }
    expect(failed).toEqual([]);
    expect(retirement).toMatch(/^drift 0 /m);
    expect(retirement).toContain('dropped slot mercato_legacy_cdc and publication mercato_legacy_cdc');

    // Retired: the monolith and its capture stopped, no slot left on the server, the checker's last report kept.
    const { processes } = await suite.platform.admin<{ processes: Array<{ name: string; state: string }> }>(
      'processes',
    );
    expect(
      processes.filter((process) => process.name.startsWith('legacy')).map((process) => process.state),
    ).toEqual(['stopped', 'stopped']);
    const server = await superuserClient(suite.dataDir, ports.postgres, 'postgres');
    try {
      const left = await server.query('SELECT slot_name FROM pg_replication_slots');
      expect(left.rows).toEqual([]);
    } finally {
      await server.end();
    }
    const check = await mercato(suite.dataDir, ['migrate', 'check']);
    expect(check, check.output).toMatchObject({
      code: 0,
      output: expect.stringContaining('the monolith retired at'),
    });
    const again = await mercato(suite.dataDir, ['migrate', 'retire']);
    expect(again.output).toContain('the monolith retired at');

    // Nothing lost: every acknowledged profile write in the services (read at the edge, the services
    // answering), every order the services took confirmed, everyone signed up signing in to the services.
    for (const [id, expected] of edits) {
      const read = await fetch(`${gateway}/legacy/api/customers/${id}`, { headers: admin });
      expect(await read.json()).toMatchObject(expected);
    }
    const outcomes = await Promise.all(servicesOrders.map(settledStatus));
    expect(outcomes.filter((status) => status === 'cancelled' || status === 'failed')).toEqual([]);
    for (const who of [
      signedUp[0],
      signedUp.find((one) => one.where === 'services'),
      signedUp.at(-1),
      ...askedAgain,
    ]) {
      if (!who) continue;
      await waitFor(`${who.email} signing in`, async () => {
        const response = await post(
          `${gateway}/api/auth/login`,
          { email: who.email, password: who.password },
          {},
        );
        await response?.arrayBuffer();
        return response?.status === 200;
      });
    }
    // Every capability moved and the monolith retired, each step under traffic: about 70–95 s alone,
    // 90 s on 5 December in CI beside the other suites, 182 s beside two busy loops and over 240 s
    // in a CI run of 6 December on a machine at a load of 8 (a move's drift check waits for the
    // services to have applied what the monolith wrote, which takes longer on a loaded machine). A
    // test that times out is not stopped: its traffic ran on against the platform the suite's
    // teardown stopped, and counted 238 requests failed after the fact. Hence the room.
  }, 480_000);
});
