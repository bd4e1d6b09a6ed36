import { setTimeout as sleep } from 'node:timers/promises';
import { Code, ConnectError, type ConnectRouter } from '@connectrpc/connect';
import type { GrpcServer } from '@mercato/chassis';
import {
  probePostgres,
  startGrpcStub,
  startTestService,
  suiteTitle,
  type TestService,
  waitFor,
} from '@mercato/chassis/testing';
import { type OrderChange, OrderService } from '@mercato/contracts/grpc/order';
import { PricingService } from '@mercato/contracts/grpc/pricing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrderConfig } from '../src/config.ts';
import { orderDefinition } from '../src/order.service.ts';

const postgres = await probePostgres();

const pricing = (router: ConnectRouter) =>
  router.service(PricingService, {
    calculateQuote: (request) => {
      const lines = request.items.map((item) => ({
        sku: item.sku,
        quantity: item.quantity,
        unitPriceMinor: 1_000n,
        subtotalMinor: 1_000n * BigInt(item.quantity),
        discountMinor: 0n,
        totalMinor: 1_000n * BigInt(item.quantity),
      }));
      const total = lines.reduce((sum, line) => sum + line.totalMinor, 0n);
      return { currency: 'EUR', lines, subtotalMinor: total, discountMinor: 0n, totalMinor: total };
    },
  });

/** Reads a server stream in the background, keeping what it yields, until `close`. */
function follow(stream: AsyncIterable<{ change?: OrderChange; startedAfter: string }>) {
  const seen = { changes: [] as OrderChange[], startedAfter: '', error: undefined as unknown };
  const done = (async () => {
    try {
      for await (const message of stream) {
        if (message.startedAfter) seen.startedAfter = message.startedAfter;
        if (message.change) seen.changes.push(message.change);
      }
    } catch (error) {
      seen.error = error;
    }
  })();
  return { seen, done };
}

/**
 * StreamOrders over a real PostgreSQL: an order's changes and a customer's, fed by the event
 * store's notifications (no poll per stream), resumable, and refusing resume points the log
 * cannot hold or has not reached.
 */
describe.skipIf(!postgres.available)(suiteTitle('order streams', postgres), () => {
  let running: TestService<OrderConfig>;
  let stub: { server: GrpcServer; url: string };
  let admin: pg.Client;
  let keys = 0;
  const client = () => running.client(OrderService);
  const place = async (customerId: string) => {
    keys += 1;
    const { order } = await client().createOrder({
      customerId,
      idempotencyKey: `key-${keys}`,
      items: [{ sku: 'BOK-0001', quantity: 1 }],
      shippingAddress: '1 Main St',
    });
    return order?.orderId ?? '';
  };
  const refusal = async (after: string, by: { orderId?: string; customerId?: string }) => {
    const controller = new AbortController();
    try {
      for await (const _ of client().streamOrders({ ...by, after }, { signal: controller.signal })) break;
      return 'opened';
    } catch (error) {
      return ConnectError.from(error).code;
    } finally {
      controller.abort();
    }
  };

  beforeAll(async () => {
    stub = await startGrpcStub(pricing);
    running = await startTestService(orderDefinition, {
      MERCATO_PEERS: `pricing=${stub.url}`,
      // Nothing answers the saga's commands: a placed order is cancelled when its step times out.
      ORDER_RESERVE_TIMEOUT_MS: '300',
      ORDER_SAGA_TIMER_INTERVAL_MS: '50',
    });
    admin = new pg.Client({ connectionString: running.databaseUrl });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await running?.stop();
    await stub?.server.close(100);
  });

  it('refuses a resume point out of range or ahead of the log with INVALID_ARGUMENT', async () => {
    for (const after of ['99999999999999999999.1', '18446744073709551616.0', '1.9223372036854775808', '7'])
      expect(await refusal(after, { customerId: 'usr_range' }), after).toBe(Code.InvalidArgument);
    // Well formed and in range, but past the end of the log: nothing there to resume after.
    expect(await refusal('18446744073709551615.1', { customerId: 'usr_range' })).toBe(Code.InvalidArgument);
    for (const after of ['2147483648', '1.1', '-1'])
      expect(await refusal(after, { orderId: 'ord_x' }), after).toBe(Code.InvalidArgument);
  });

  it("follows an order's changes and a customer's, and resumes after what was seen", async () => {
    const controller = new AbortController();
    const mine = follow(client().streamOrders({ customerId: 'usr_s1' }, { signal: controller.signal }));
    await waitFor('the customer stream to start', async () => mine.seen.startedAfter !== '');
    const theirs = follow(client().streamOrders({ customerId: 'usr_s2' }, { signal: controller.signal }));
    const orderId = await place('usr_s1');
    await place('usr_s2');
    const one = follow(client().streamOrders({ orderId }, { signal: controller.signal }));
    // Nothing answers the saga, so the order ends (cancelled or failed) when its step times out.
    await waitFor('placed, then ended, on both streams', async () =>
      [mine.seen.changes, one.seen.changes].every((changes) => changes.length === 2),
    );
    const ended = one.seen.changes[1]?.status;
    expect(['cancelled', 'failed']).toContain(ended);
    for (const changes of [mine.seen.changes, one.seen.changes])
      expect(changes.map((change) => [change.orderId, change.status, change.version])).toEqual([
        [orderId, 'pending', 1],
        [orderId, ended, 2],
      ]);
    // Another customer's stream saw only its own order.
    await waitFor('the other customer sees its order', async () => theirs.seen.changes.length === 2);
    expect(theirs.seen.changes.every((change) => change.customerId === 'usr_s2')).toBe(true);

    // Resuming after the first change gives the second, and only it, on both kinds of stream.
    const [first] = mine.seen.changes;
    const again = follow(
      client().streamOrders(
        { customerId: 'usr_s1', after: first?.resumeAfter ?? '' },
        { signal: controller.signal },
      ),
    );
    const once = follow(
      client().streamOrders(
        { orderId, after: one.seen.changes[0]?.resumeAfter ?? '' },
        { signal: controller.signal },
      ),
    );
    await waitFor(
      'the rest after resuming',
      async () => again.seen.changes.length + once.seen.changes.length >= 2,
    );
    await sleep(300);
    expect(again.seen.changes.map((change) => change.status)).toEqual([ended]);
    expect(once.seen.changes.map((change) => change.status)).toEqual([ended]);
    controller.abort();
  });

  it('shows a cancellation under way as cancel_pending before the order ends', async () => {
    const controller = new AbortController();
    const orderId = await place('usr_s4');
    const one = follow(client().streamOrders({ orderId }, { signal: controller.signal }));
    await waitFor('the order placed', async () => one.seen.changes.length >= 1);
    await client().cancelOrder({ orderId });
    await waitFor('placed, cancel_pending, then ended', async () => one.seen.changes.length >= 3);
    expect(one.seen.changes.slice(0, 2).map((change) => [change.status, change.type])).toEqual([
      ['pending', 'OrderPlaced'],
      ['cancel_pending', 'OrderCancelRequested'],
    ]);
    expect(['cancelled', 'failed']).toContain(one.seen.changes[2]?.status);
    controller.abort();
  });

  it('sees a change appended by any writer of the database, not only its own process', async () => {
    const controller = new AbortController();
    const orderId = await place('usr_s3');
    const one = follow(client().streamOrders({ orderId }, { signal: controller.signal }));
    // Its second change is the saga's step timing out (300 ms) and its compensation: about 2 s here,
    // more than 10 s once in CI beside the e2e suite.
    await waitFor('its history', async () => one.seen.changes.length === 2, 30_000);
    // Another process's append: straight into the event store, as a second order instance would.
    const { rows } = await admin.query<{ v: number }>(
      'SELECT max(stream_version)::int AS v FROM es_events WHERE stream_id = $1',
      [`order-${orderId}`],
    );
    await admin.query(
      `INSERT INTO es_events (stream_id, stream_version, event_id, event_type, event_version, data, metadata)
       VALUES ($1, $2, $3, 'OrderFailed', 1, $4, '{}')`,
      [
        `order-${orderId}`,
        (rows[0]?.v ?? 0) + 1,
        `evt_test_${orderId}`,
        { reason: 'test', at: new Date().toISOString() },
      ],
    );
    await waitFor('the outside change', async () => one.seen.changes.length === 3, 5_000);
    expect(one.seen.changes[2]).toMatchObject({ status: 'failed', type: 'OrderFailed' });
    controller.abort();
  });

  it("ends a customer's stream whose reader stopped reading, holding nothing for it, and the reader resumes with nothing lost", async () => {
    const controller = new AbortController();
    const customerId = 'usr_stalled';
    // One reader reads its first message and then nothing: its transport fills, the server's writes
    // wait, and changes pile up for it. Another reads everything.
    const stalled = client()
      .streamOrders({ customerId }, { signal: controller.signal })
      [Symbol.asyncIterator]();
    const started = await stalled.next();
    const reading = follow(client().streamOrders({ customerId }, { signal: controller.signal }));
    await waitFor('the reading stream to start', async () => reading.seen.startedAfter !== '');
    // More placed orders than a stream's queue holds (10,000), appended in one transaction by
    // another writer of the log, as a burst of orders would be.
    const orders = 12_000;
    await admin.query(
      `INSERT INTO es_events (stream_id, stream_version, event_id, event_type, event_version, data, metadata)
       SELECT 'order-ord_stalled_' || i, 1, 'evt_stalled_' || i, 'OrderPlaced', 2,
              jsonb_build_object('orderId', 'ord_stalled_' || i, 'customerId', $1::text, 'lines', '[]'::jsonb,
                'discountMinor', 0, 'totalMinor', 0, 'currency', 'EUR', 'shippingAddress', 'x', 'at', now()),
              '{}'
       FROM generate_series(1, $2::int) AS i`,
      [customerId, orders],
    );
    await waitFor(
      'every order on the reading stream',
      async () => reading.seen.changes.length === orders,
      30_000,
    );

    // The stalled reader reads again: what its transport held, then the end of its stream, for it
    // fell behind; the server dropped what waited for it instead of keeping it.
    const received: OrderChange[] = [];
    let ended: unknown;
    try {
      for (let next = await stalled.next(); !next.done; next = await stalled.next())
        if (next.value.change) received.push(next.value.change);
    } catch (error) {
      ended = error;
    }
    expect(started.value?.startedAfter).toBeTruthy();
    const refusal = ConnectError.from(ended);
    expect(refusal.code).toBe(Code.Unavailable);
    expect(refusal.metadata.get('mercato-error-code')).toBe('STREAM.READER_BEHIND');
    console.log(`a stalled reader got ${received.length} of ${orders} changes before its stream ended`);
    expect(received.length).toBeLessThan(orders / 2);

    // Resumed after the last change it read, it gets the rest, each once, in order.
    const resumeAfter = received.at(-1)?.resumeAfter ?? started.value?.startedAfter ?? '';
    const resumed = follow(
      client().streamOrders({ customerId, after: resumeAfter }, { signal: controller.signal }),
    );
    await waitFor('the rest', async () => received.length + resumed.seen.changes.length >= orders, 30_000);
    const all = [...received, ...resumed.seen.changes].map((change) => change.orderId);
    expect(all).toEqual(reading.seen.changes.map((change) => change.orderId));
    controller.abort();
  });

  it('costs the database nothing while its streams are idle (no poll per stream)', async () => {
    const controller = new AbortController();
    for (let i = 0; i < 100; i += 1) {
      follow(client().streamOrders({ customerId: `usr_idle_${i}` }, { signal: controller.signal }));
      follow(client().streamOrders({ orderId: `ord_idle_${i}` }, { signal: controller.signal }));
    }
    await sleep(1_500);
    const committed = async () =>
      Number(
        (
          await admin.query<{ n: string }>(
            'SELECT xact_commit::text AS n FROM pg_stat_database WHERE datname = current_database()',
          )
        ).rows[0]?.n,
      );
    // Statistics reach pg_stat_database when a backend goes idle, at most once a second.
    const before = await committed();
    await sleep(3_000);
    const perSecond = ((await committed()) - before) / 3;
    controller.abort();
    // 200 streams polling every 100 ms would commit ~2,000 read transactions a second; the service's
    // own timers (saga timeouts, projection, outbox) commit a few dozen.
    console.log(`order database: ${perSecond.toFixed(0)} transactions/s with 200 idle streams open`);
    expect(perSecond).toBeLessThan(300);
  });
});
