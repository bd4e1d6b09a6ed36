import { probePostgres, startTestService, suiteTitle, type TestService } from '@mercato/chassis/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LegacyConfig } from '../src/config.ts';
import { legacyDefinition } from '../src/legacy.service.ts';
import { expectProblem, legacyApi, type Order } from './support/legacy-api.ts';

const postgres = await probePostgres();

describe.skipIf(!postgres.available)(suiteTitle('the legacy monolith', postgres), () => {
  let legacy: TestService<LegacyConfig>;
  let db: pg.Client;

  const call = legacyApi(() => legacy.url);
  const stockOf = async (productId: number): Promise<number> =>
    (await call('GET', `/api/products/${productId}`)).body.stockQuantity;
  const count = async (table: string): Promise<number> =>
    (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]?.n ?? -1;
  const place = (lines: { productId: number; quantity: number }[], customerId = 7) =>
    call('POST', '/api/orders', { customerId, lines });
  const move = (orderId: number, status: string) => call('POST', `/api/orders/${orderId}/status`, { status });

  beforeAll(async () => {
    legacy = await startTestService(legacyDefinition);
    db = new pg.Client({ connectionString: legacy.databaseUrl });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await legacy?.stop();
  });

  it('starts on the seeded history', async () => {
    expect(await count('customers')).toBe(5_000);
    expect(await count('orders')).toBe(20_000);
    const products = await call('GET', '/api/products');
    expect(products.body.items).toHaveLength(200);
    expect(products.body.items[0]).toMatchObject({
      id: 1,
      sku: 'LEG-0001',
      priceCents: 479,
      stockQuantity: 1007,
    });
    const history = await call('GET', '/api/customers/1/orders?limit=3');
    expect(history.body.items).toHaveLength(3);
    const placed = history.body.items.map((order: { placedAt: string }) => order.placedAt);
    expect([...placed].sort().reverse()).toEqual(placed);
    const [latest] = history.body.items as Order[];
    expect(latest?.totalCents).toBe(latest?.lines.reduce((sum, l) => sum + l.quantity * l.unitPriceCents, 0));
  });

  it('logs a seeded customer in with the legacy hash, and nobody with a wrong password or email', async () => {
    expect(
      await call('POST', '/api/login', { email: 'customer17@legacy.example', password: 'legacy-17' }),
    ).toMatchObject({ status: 200, body: { customerId: 17 } });
    expectProblem(
      await call('POST', '/api/login', { email: 'customer17@legacy.example', password: 'legacy-18' }),
      401,
      'LEGACY.BAD_CREDENTIALS',
    );
    expectProblem(
      await call('POST', '/api/login', { email: 'nobody@legacy.example', password: 'legacy-17' }),
      401,
      'LEGACY.BAD_CREDENTIALS',
    );
  });

  it('registers a customer with a salted legacy hash, once per email, and edits the profile', async () => {
    const created = await call('POST', '/api/customers', {
      email: 'Ada@Example.test',
      name: 'Ada',
      password: 'analytical-engine',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ email: 'ada@example.test', name: 'Ada', address: '' });
    expect(Object.keys(created.body).sort()).toEqual([
      'address',
      'createdAt',
      'email',
      'id',
      'name',
      'updatedAt',
    ]);
    const { rows } = await db.query('SELECT password_hash FROM customers WHERE id = $1', [created.body.id]);
    expect(rows[0].password_hash).toMatch(/^sha256\$[0-9a-f]+\$[0-9a-f]{64}$/);
    expect(
      (await call('POST', '/api/login', { email: 'ada@example.test', password: 'analytical-engine' })).body,
    ).toEqual({ customerId: created.body.id });
    const again = { email: 'ADA@example.test', name: 'Other Ada', password: 'whatever-1' };
    expectProblem(await call('POST', '/api/customers', again), 409, 'LEGACY.EMAIL_TAKEN');

    const edited = await call('PATCH', `/api/customers/${created.body.id}`, { address: '12 Byron Row' });
    expect(edited.body).toMatchObject({ name: 'Ada', address: '12 Byron Row' });
    expect(edited.body.updatedAt > created.body.updatedAt).toBe(true);
    expect((await call('GET', `/api/customers/${created.body.id}`)).body).toEqual(edited.body);
    expectProblem(
      await call('PATCH', `/api/customers/${created.body.id}`, { email: 'customer1@legacy.example' }),
      409,
      'LEGACY.EMAIL_TAKEN',
    );
    expectProblem(await call('PATCH', '/api/customers/999999', { name: 'Ghost' }), 404, 'LEGACY.NOT_FOUND');
    expectProblem(await call('GET', '/api/customers/999999'), 404, 'LEGACY.NOT_FOUND');
  });

  it('places an order in one transaction: stock taken, total from current prices, newest in history', async () => {
    const [a, b] = [await stockOf(3), await stockOf(5)];
    const answer = await place([
      { productId: 3, quantity: 2 },
      { productId: 5, quantity: 1 },
    ]);
    expect(answer.status).toBe(201);
    const order = answer.body as Order;
    const prices = { 3: 100 + ((3 * 379) % 9900), 5: 100 + ((5 * 379) % 9900) };
    expect(order).toMatchObject({ status: 'placed', totalCents: 2 * prices[3] + prices[5] });
    expect(order.lines).toEqual([
      { lineNo: 1, productId: 3, quantity: 2, unitPriceCents: prices[3] },
      { lineNo: 2, productId: 5, quantity: 1, unitPriceCents: prices[5] },
    ]);
    expect([await stockOf(3), await stockOf(5)]).toEqual([a - 2, b - 1]);
    const touched = await db.query<{ updated_at: Date }>('SELECT updated_at FROM stock WHERE product_id = 3');
    expect(touched.rows[0]?.updated_at.getTime()).toBeGreaterThan(Date.parse(order.placedAt) - 1);
    expect((await call('GET', `/api/orders/${order.id}`)).body).toEqual(order);
    expect((await call('GET', '/api/customers/7/orders?limit=1')).body.items).toEqual([order]);
  });

  it('refuses an order that is short on any line and leaves all stock untouched', async () => {
    const [a, b] = [await stockOf(10), await stockOf(11)];
    const orders = await count('orders');
    const short = await place([
      { productId: 10, quantity: 1 },
      { productId: 11, quantity: b + 1 },
    ]);
    expectProblem(short, 409, 'LEGACY.OUT_OF_STOCK');
    expect(short.body.shortages).toEqual([{ productId: 11, requested: b + 1, available: b }]);
    expect([await stockOf(10), await stockOf(11), await count('orders')]).toEqual([a, b, orders]);
  });

  it('sells the last items once when orders race for them', async () => {
    await db.query('UPDATE stock SET quantity = 5 WHERE product_id = 20');
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        place(
          [
            { productId: 20, quantity: 1 },
            { productId: 21 + (i % 3), quantity: 1 },
          ],
          100 + i,
        ),
      ),
    );
    expect(answers.filter((answer) => answer.status === 201)).toHaveLength(5);
    expect(answers.filter((answer) => answer.status === 409)).toHaveLength(7);
    expect(await stockOf(20)).toBe(0);
  });

  it('moves an order along, puts stock back on cancel, and refuses other moves', async () => {
    const shipped = (await place([{ productId: 30, quantity: 1 }])).body as Order;
    for (const status of ['paid', 'shipped', 'delivered'])
      expect((await move(shipped.id, status)).body.status).toBe(status);
    expectProblem(await move(shipped.id, 'cancelled'), 409, 'LEGACY.BAD_TRANSITION');

    const before = await stockOf(31);
    const cancelled = (await place([{ productId: 31, quantity: 4 }])).body as Order;
    expect(await stockOf(31)).toBe(before - 4);
    expect((await move(cancelled.id, 'paid')).status).toBe(200);
    expect((await move(cancelled.id, 'cancelled')).body.status).toBe('cancelled');
    expect(await stockOf(31)).toBe(before);
    expectProblem(await move(cancelled.id, 'cancelled'), 409, 'LEGACY.BAD_TRANSITION');
    expectProblem(await move(cancelled.id, 'shipped'), 409, 'LEGACY.BAD_TRANSITION');
    expect(await stockOf(31)).toBe(before);
    expectProblem(await move(999_999, 'paid'), 404, 'LEGACY.NOT_FOUND');
  });

  it("lists a status's orders page after page in id order, none skipped where ids grow a digit", async () => {
    const listed: number[] = [];
    for (let after = 0; ; ) {
      const { ids } = (await call('GET', `/api/orders?status=shipped&after=${after}&limit=700`)).body as {
        ids: number[];
      };
      if (ids.length === 0) break;
      listed.push(...ids);
      after = ids.at(-1) as number;
    }
    const { rows } = await db.query<{ n: number }>(
      `SELECT id::int AS n FROM orders WHERE status = 'shipped' ORDER BY orders.id`,
    );
    // The seed ships every sixth order from the third: 3, 9, 15, … across 1- to 5-digit ids.
    expect(listed.slice(0, 3)).toEqual([3, 9, 15]);
    expect(listed).toEqual(rows.map((row) => row.n));
  });

  it('answers bad input with a clear 4xx problem, never a 500', async () => {
    const line = { productId: 1, quantity: 1 };
    const cases: [string, string, unknown, number, string?][] = [
      ['GET', '/api/customers/9223372036854775808', undefined, 400, 'REQUEST.INVALID'],
      // Past 2^53: read as a number, it would name another customer.
      ['GET', '/api/customers/9007199254740993', undefined, 400, 'REQUEST.INVALID'],
      ['GET', '/api/orders/99999999999999999999999', undefined, 400, 'REQUEST.INVALID'],
      ['GET', '/api/products/0', undefined, 400, 'REQUEST.INVALID'],
      ['GET', '/api/products/1.5', undefined, 400, 'REQUEST.INVALID'],
      ['GET', '/api/products/abc', undefined, 400, 'REQUEST.INVALID'],
      ['GET', '/api/products/999999', undefined, 404, 'LEGACY.NOT_FOUND'],
      ['GET', '/api/orders/999999', undefined, 404, 'LEGACY.NOT_FOUND'],
      ['GET', '/api/customers/999999/orders', undefined, 404, 'LEGACY.NOT_FOUND'],
      ['GET', '/api/customers/1/orders?limit=101', undefined, 400, 'REQUEST.INVALID'],
      [
        'POST',
        '/api/customers',
        { email: 'nul@example.test', name: 'N\u0000L', password: 'long-enough' },
        400,
      ],
      ['POST', '/api/customers', { email: 'not-an-email', name: 'X', password: 'long-enough' }, 400],
      ['POST', '/api/customers', { email: 'short@example.test', name: 'X', password: 'short' }, 400],
      ['POST', '/api/login', { email: 'customer1@legacy.example\u0000', password: 'legacy-1' }, 400],
      ['PATCH', '/api/customers/1', {}, 400, 'REQUEST.INVALID'],
      ['POST', '/api/orders', { customerId: 7, lines: [{ productId: 1, quantity: -1 }] }, 400],
      ['POST', '/api/orders', { customerId: 7, lines: [{ productId: 1, quantity: 0 }] }, 400],
      ['POST', '/api/orders', { customerId: 7, lines: [{ productId: 1, quantity: 1.5 }] }, 400],
      ['POST', '/api/orders', { customerId: 7, lines: [] }, 400],
      ['POST', '/api/orders', { customerId: 7, lines: Array(21).fill(line) }, 400],
      ['POST', '/api/orders', { customerId: 7, lines: [{ productId: 1e30, quantity: 1 }] }, 400],
      ['POST', '/api/orders', { customerId: '7', lines: [line] }, 400],
      [
        'POST',
        '/api/orders',
        { customerId: 7, lines: [{ productId: 999_999, quantity: 1 }] },
        422,
        'LEGACY.UNKNOWN_PRODUCT',
      ],
      ['POST', '/api/orders', { customerId: 999_999, lines: [line] }, 422, 'LEGACY.UNKNOWN_CUSTOMER'],
      ['POST', '/api/orders/1/status', { status: 'lost' }, 400, 'REQUEST.INVALID'],
    ];
    for (const [method, path, body, status, code] of cases) {
      const answer = await call(method, path, body);
      expect({ method, path, status: answer.status }).toEqual({ method, path, status });
      expectProblem(answer, status, code);
    }
    const malformed = await fetch(`${legacy.url}/api/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"customerId": 7,',
    });
    expect(malformed.status).toBe(400);
  });

  // Last: it gives customers to the services for the rest of this process's life.
  it('gives customers up once its writes in flight committed, then refuses their writes; taking them back is for the services to start', async () => {
    expect((await call('GET', '/api/capabilities')).body.items).toEqual([
      { name: 'customers', owner: 'monolith', changedAt: expect.any(String) },
      { name: 'orders', owner: 'monolith', changedAt: expect.any(String) },
      { name: 'registrations', owner: 'monolith', changedAt: expect.any(String) },
    ]);
    // A write in flight holds the capability: the move waits for it to commit.
    const inFlight = new pg.Client({ connectionString: legacy.databaseUrl });
    await inFlight.connect();
    await inFlight.query('BEGIN');
    await inFlight.query("SELECT owner FROM capabilities WHERE name = 'customers' FOR SHARE");
    let moved = false;
    const moving = call('PUT', '/api/capabilities/customers', { owner: 'services' }).then((answer) => {
      moved = true;
      return answer;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(moved).toBe(false);
    await inFlight.query("UPDATE customers SET name = 'Written Before The Move' WHERE id = 31");
    await inFlight.query('COMMIT');
    await inFlight.end();
    expect(await moving).toMatchObject({ status: 200, body: { name: 'customers', owner: 'services' } });
    expectProblem(
      await call('PATCH', '/api/customers/31', { name: 'Written After' }),
      409,
      'LEGACY.CAPABILITY_MOVED',
    );
    expect((await call('GET', '/api/customers/31')).body.name).toBe('Written Before The Move');
    // Registrations and orders are not customers' profile writes: they stay.
    expect(
      (
        await call('POST', '/api/customers', {
          email: 'after-the-move@legacy.example',
          name: 'After The Move',
          password: 'after-the-move',
        })
      ).status,
    ).toBe(201);
    expectProblem(
      await call('PUT', '/api/capabilities/customers', { owner: 'monolith' }),
      409,
      'LEGACY.BACK_THROUGH_SERVICES',
    );
    expect((await call('PUT', '/api/capabilities/customers', { owner: 'services' })).status).toBe(200);
    expect((await call('PUT', '/api/capabilities/stock', { owner: 'services' })).status).toBe(400);
  });

  it('gives new orders up once the one in flight committed, then refuses new ones and finishes those it took', async () => {
    const taken = (await place([{ productId: 40, quantity: 2 }])).body as Order;
    const shelf = await stockOf(40);
    // An order in flight holds the capability: the move waits for it to commit.
    const inFlight = new pg.Client({ connectionString: legacy.databaseUrl });
    await inFlight.connect();
    await inFlight.query('BEGIN');
    await inFlight.query("SELECT owner FROM capabilities WHERE name = 'orders' FOR SHARE");
    let moved = false;
    const moving = call('PUT', '/api/capabilities/orders', { owner: 'services' }).then((answer) => {
      moved = true;
      return answer;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(moved).toBe(false);
    await inFlight.query('COMMIT');
    await inFlight.end();
    expect(await moving).toMatchObject({ status: 200, body: { name: 'orders', owner: 'services' } });

    const refused = await place([{ productId: 40, quantity: 1 }]);
    expectProblem(refused, 409, 'LEGACY.CAPABILITY_MOVED');
    expect(refused.body.detail).toContain('POST /api/orders');
    expect(await stockOf(40)).toBe(shelf);
    // The orders it took still move along; a cancellation puts their stock back on its shelf.
    expect((await move(taken.id, 'paid')).body.status).toBe('paid');
    expect((await move(taken.id, 'cancelled')).body.status).toBe('cancelled');
    expect(await stockOf(40)).toBe(shelf + 2);
    expectProblem(
      await call('PUT', '/api/capabilities/orders', { owner: 'monolith' }),
      409,
      'LEGACY.BACK_THROUGH_SERVICES',
    );
  });

  it('gives registrations up and takes them back itself: the services keep whom they signed up', async () => {
    const signUp = (n: number) =>
      call('POST', '/api/customers', {
        email: `registration-${n}@legacy.example`,
        name: `Registration ${n}`,
        password: 'registration-password',
      });
    expect((await signUp(1)).status).toBe(201);
    expect((await call('PUT', '/api/capabilities/registrations', { owner: 'services' })).status).toBe(200);
    const refused = await signUp(2);
    expectProblem(refused, 409, 'LEGACY.CAPABILITY_MOVED');
    expect(refused.body.detail).toContain('POST /api/auth/register');
    expect(
      (await db.query("SELECT 1 FROM customers WHERE email = 'registration-2@legacy.example'")).rowCount,
    ).toBe(0);
    // Nothing of the services' comes back first: the monolith takes registrations back itself.
    expect(await call('PUT', '/api/capabilities/registrations', { owner: 'monolith' })).toMatchObject({
      status: 200,
      body: { owner: 'monolith' },
    });
    expect((await signUp(2)).status).toBe(201);
  });

  it('finishes orders in batches and retires only once the services write everything and its orders finished; then takes nothing back', async () => {
    const statusOf = async (id: number) =>
      (await db.query<{ status: string }>('SELECT status FROM orders WHERE id = $1', [id])).rows[0]?.status;
    const idsIn = async (status: string) =>
      (await call('GET', `/api/orders?status=${status}&limit=1000`)).body.ids as number[];
    const batch = (status: string, ids: number[]) => call('POST', '/api/orders/statuses', { status, ids });
    const finish = async (from: string, to: string) => {
      for (let ids = await idsIn(from); ids.length > 0; ids = await idsIn(from))
        expect(await batch(to, ids)).toMatchObject({ status: 200, body: { moved: ids.length } });
    };

    // Registrations are still the monolith's.
    const writes = await call('POST', '/api/retirement');
    expectProblem(writes, 409, 'LEGACY.STILL_WRITES');
    expect(writes.body.detail).toContain('registrations');
    expect((await call('PUT', '/api/capabilities/registrations', { owner: 'services' })).status).toBe(200);
    const unfinished = await call('POST', '/api/retirement');
    expectProblem(unfinished, 409, 'LEGACY.ORDERS_UNFINISHED');
    expect(unfinished.body.unfinished).toMatchObject({
      paid: expect.any(Number),
      shipped: expect.any(Number),
    });

    // A batch moves all its orders or none: one that cannot move is named, nothing changes.
    const [shipped, otherShipped] = await idsIn('shipped');
    const [delivered] = (await call('GET', '/api/orders?status=delivered&limit=1')).body.ids as number[];
    if (!shipped || !otherShipped || !delivered) throw new Error('the seed has shipped and delivered orders');
    const mixed = await batch('delivered', [shipped, delivered]);
    expectProblem(mixed, 409, 'LEGACY.BAD_TRANSITION');
    expect(mixed.body).toMatchObject({ orderId: delivered, from: 'delivered', to: 'delivered' });
    expect(await statusOf(shipped)).toBe('shipped');
    expectProblem(await batch('delivered', [shipped, 99_999_999]), 404, 'LEGACY.NOT_FOUND');
    expectProblem(await batch('delivered', [shipped, shipped]), 400, 'REQUEST.INVALID');
    expectProblem(await batch('delivered', []), 400, 'REQUEST.INVALID');
    expectProblem(await call('GET', '/api/orders?status=lost'), 400, 'REQUEST.INVALID');

    // Cancelled in a batch, placed orders put their stock back.
    const placed = await idsIn('placed');
    const { rows: lines } = await db.query<{ product_id: string; quantity: number }>(
      `SELECT product_id::text, sum(quantity)::int AS quantity FROM order_lines
       WHERE order_id = ANY($1::bigint[]) GROUP BY product_id`,
      [placed],
    );
    const stockBefore = await Promise.all(lines.map((line) => stockOf(Number(line.product_id))));
    await finish('placed', 'cancelled');
    expect(await Promise.all(lines.map((line) => stockOf(Number(line.product_id))))).toEqual(
      stockBefore.map((before, index) => before + (lines[index]?.quantity ?? 0)),
    );
    await finish('shipped', 'delivered');
    await finish('paid', 'shipped');
    await finish('shipped', 'delivered');

    const retired = await call('POST', '/api/retirement');
    expect(retired).toMatchObject({
      status: 200,
      body: { retiredAt: expect.any(String), lsn: expect.any(String) },
    });
    // Asked again, the same retirement.
    expect((await call('POST', '/api/retirement')).body.retiredAt).toBe(retired.body.retiredAt);
    // Nothing goes back to it, and it takes nothing new.
    expectProblem(
      await call('PUT', '/api/capabilities/registrations', { owner: 'monolith' }),
      409,
      'LEGACY.RETIRED',
    );
    expectProblem(
      await call('POST', '/api/customers', {
        email: 'late@legacy.example',
        name: 'Late',
        password: 'late-password',
      }),
      409,
      'LEGACY.CAPABILITY_MOVED',
    );
  });
});
