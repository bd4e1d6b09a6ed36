import {
  createLogger,
  createPool,
  EVENT_STORE_MIGRATIONS_TABLE,
  eventStoreMigrations,
  inTransaction,
  MESSAGING_MIGRATIONS_TABLE,
  messagingMigrations,
  migrate,
  Outbox,
  type Pool,
  PostgresEventStore,
} from '@mercato/chassis';
import { createTestDatabase, probePostgres, suiteTitle } from '@mercato/chassis/testing';
import { MessageRegistry, orderEvents } from '@mercato/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderMessages } from '../../application/order-messages.ts';
import {
  confirm,
  evolve,
  markDelivered,
  type Order,
  placeOrder,
  recordPayment,
  recordReservation,
} from '../../domain/order.ts';
import type { OrderEvent } from '../../domain/order-events.ts';
import { EventSourcedOrders } from './event-sourced-orders.ts';
import { orderUpcasters } from './order-event-codec.ts';

const postgres = await probePostgres();
const logger = createLogger({ service: 'order-test', level: 'silent' });
const at = new Date('2026-11-28T10:00:00Z');

describe.skipIf(!postgres.available)(suiteTitle('orders on the event store', postgres), () => {
  let pool: Pool;
  let drop: () => Promise<void>;
  let orders: EventSourcedOrders;

  beforeAll(async () => {
    const database = await createTestDatabase('order_store');
    drop = database.drop;
    pool = createPool({ url: database.url, max: 4, applicationName: 'order-test' }, logger);
    await migrate(pool, eventStoreMigrations, logger, EVENT_STORE_MIGRATIONS_TABLE);
    await migrate(pool, messagingMigrations, logger, MESSAGING_MIGRATIONS_TABLE);
    const store = new PostgresEventStore(pool, orderUpcasters);
    orders = new EventSourcedOrders(store, new Outbox(new MessageRegistry(orderEvents)), 100);
  });
  afterAll(async () => {
    await pool?.end();
    await drop?.();
  });

  /** Appends what `decide` decides for the order as it is now, with its messages, as the service does. */
  async function record(
    orderId: string,
    decide: (order: Order) => { ok: true; value: OrderEvent[] } | { ok: false },
  ) {
    await inTransaction(pool, async (transaction) => {
      const loaded = await orders.load(orderId, { transaction });
      if (!loaded.order) throw new Error(`no order ${orderId}`);
      const decided = decide(loaded.order);
      if (!decided.ok) throw new Error(`cannot apply to order ${orderId}`);
      let after = loaded.order;
      for (const event of decided.value) after = evolve(after, event) as Order;
      await orders.append(
        transaction,
        orderId,
        loaded.version,
        decided.value,
        orderMessages(after, decided.value, 'corr'),
      );
    });
  }

  async function place(orderId: string, discountMinor = 0) {
    const placed = placeOrder(
      {
        orderId,
        customerId: 'cus_1',
        lines: [{ sku: 'BOK-0001', quantity: 2, unitPriceMinor: 1900 }],
        currency: 'EUR',
        shippingAddress: '1 Test Road',
        discountMinor,
      },
      at,
    );
    if (!placed.ok) throw new Error('not placed');
    const order = evolve(undefined, placed.value) as Order;
    await inTransaction(pool, (transaction) =>
      orders.append(transaction, orderId, 0, [placed.value], orderMessages(order, [placed.value], 'corr')),
    );
  }

  it('publishes every version it hands out, each message with the version of its own event', async () => {
    await place('ord_v1');
    await record('ord_v1', (order) => recordReservation(order, 'res_1', at));
    await record('ord_v1', (order) => recordPayment(order, 'pay_1', at));
    await record('ord_v1', (order) => confirm(order, at));
    // Heard before its dispatch, a delivery is two events in one append: shipped, then delivered.
    await record('ord_v1', (order) => markDelivered(order, 'shp_1', at));
    const { rows } = await pool.query<{ destination: string; order_version: number }>(
      `SELECT destination, (envelope->'metadata'->>'order_version')::int AS order_version
         FROM mercato_outbox WHERE kind = 'topic' AND partition_key = 'ord_v1' ORDER BY position`,
    );
    expect(rows.map((row) => [row.destination, row.order_version])).toEqual([
      ['order.created', 1],
      ['order.inventory_reserved', 2],
      ['order.payment_authorized', 3],
      ['order.confirmed', 4],
      ['order.shipped', 5],
      ['order.delivered', 6],
    ]);
    expect((await orders.load('ord_v1')).version).toBe(6);
  });

  it('refuses an append after a version another writer moved past as a retryable conflict, writing none of it', async () => {
    await place('ord_c1');
    const stale = await orders.load('ord_c1');
    await record('ord_c1', (order) => recordReservation(order, 'res_c1', at));
    const outboxRows = async () =>
      (
        await pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM mercato_outbox WHERE partition_key = 'ord_c1'`,
        )
      ).rows[0]?.n;
    const before = await outboxRows();
    const attempt = inTransaction(pool, async (transaction) => {
      const order = stale.order as Order;
      const decided = recordReservation(order, 'res_other', at);
      if (!decided.ok) throw new Error('not decided');
      const after = evolve(order, decided.value[0] as OrderEvent) as Order;
      await orders.append(
        transaction,
        'ord_c1',
        stale.version,
        decided.value,
        orderMessages(after, decided.value, 'corr'),
      );
    });
    await expect(attempt).rejects.toMatchObject({ code: 'EVENTS.CONCURRENCY_CONFLICT', retryable: true });
    expect(await outboxRows()).toBe(before);
    const now = await orders.load('ord_c1');
    expect(now.version).toBe(2);
    expect(now.order).toMatchObject({ reservationId: 'res_c1' });
  });

  it('does not load a snapshot of an unknown schema: the order is replayed from its events', async () => {
    await place('ord_s1', 500);
    await record('ord_s1', (order) => recordReservation(order, 'res_s1', at));
    // A snapshot as a release before snapshot versions saved it, from before orders had discountMinor.
    const { order } = await orders.load('ord_s1');
    const { discountMinor: _dropped, ...older } = order as Order;
    await pool.query(`INSERT INTO es_snapshots (stream_id, stream_version, state) VALUES ($1, 2, $2)`, [
      'order-ord_s1',
      JSON.stringify({ ...older, shippingAddress: 'from the snapshot' }),
    ]);
    const loaded = await orders.load('ord_s1');
    expect(loaded.version).toBe(2);
    expect(loaded.order).toMatchObject({ discountMinor: 500, shippingAddress: '1 Test Road' });
  });
});
