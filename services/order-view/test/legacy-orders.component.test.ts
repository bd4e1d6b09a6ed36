import { isDeepStrictEqual } from 'node:util';
import { createLogger, createPool, createService, type Pool, type Service } from '@mercato/chassis';
import {
  connectTestBus,
  probePostgres,
  startTestService,
  suiteTitle,
  type TestBus,
  type TestService,
  waitFor,
} from '@mercato/chassis/testing';
import { createEnvelope, type Envelope, legacyOrderStatus, orderCreated } from '@mercato/contracts';
import { OrderViewService } from '@mercato/contracts/grpc/order-view';
import {
  type CaptureSource,
  type LegacyLineRow,
  type LegacyOrderRow,
  legacyTransaction,
  type RowChange,
  seededMonolith,
  snapshotOf,
} from '@mercato/contracts/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrderViewConfig } from '../src/config.ts';
import { orderViewDefinition } from '../src/order-view.service.ts';

const postgres = await probePostgres();
const ADMIN = 'order-view-legacy-admin-token-012';

/**
 * The monolith's seed, and the state a checker compares the summaries with as the test changes it.
 * 5,000 of its 20,000 orders by default (customer 42 has one), so the suite fits CI; `ORDER_VIEW_LEGACY_ORDERS=20000`
 * folds the whole seed (the fold time is printed).
 */
const monolith = seededMonolith(Number(process.env.ORDER_VIEW_LEGACY_ORDERS ?? 5_000));
const products = new Map(monolith.products.map((product) => [product.id, product]));
const SNAPSHOT: CaptureSource = {
  kind: 'snapshot',
  lsn: '0/1A2B3C0',
  txId: 750,
  committedAt: '2026-11-02T08:00:00.000Z',
};
/** Events order-view reads from the snapshot: products, orders and lines (not customers or stock). */
const SNAPSHOT_EVENTS = monolith.products.length + monolith.orders.length + monolith.lines.length;

interface SummaryRow {
  order_id: string;
  customer_id: string | null;
  status: string;
  total_minor: number;
  currency: string;
  item_count: number;
  lines: Array<{ sku: string; quantity: number; unitPriceMinor: number; lineNo: number }>;
  placed_at: string;
  updated_at: string;
  confirmed_at: string | null;
  shipped_at: string | null;
  delivered_at: string | null;
  cancelled_at: string | null;
  payment_status: string;
  order_version: number;
}

const at = (column: string) =>
  `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ${column}`;
const SUMMARY_SQL = `SELECT order_id, customer_id, status, total_minor::float8 AS total_minor, currency, item_count,
    lines, payment_status, order_version, ${['placed_at', 'updated_at', 'confirmed_at', 'shipped_at', 'delivered_at', 'cancelled_at'].map(at).join(', ')}
  FROM order_summaries`;

/** The summary a monolith order should have, by the mapping the checker uses. */
function expectedSummary(order: LegacyOrderRow, lines: LegacyLineRow[], enteredAt: string): SummaryRow {
  const status = legacyOrderStatus[order.status] as string;
  const when = (of: string) => (status === of ? enteredAt : null);
  return {
    order_id: `ord_legacy_${order.id}`,
    customer_id: `usr_legacy_${order.customer_id}`,
    status,
    total_minor: order.total_cents,
    currency: 'EUR',
    item_count: lines.reduce((sum, line) => sum + line.quantity, 0),
    lines: lines
      .toSorted((a, b) => a.line_no - b.line_no)
      .map((line) => ({
        sku: products.get(line.product_id)?.sku ?? `legacy-${line.product_id}`,
        quantity: line.quantity,
        unitPriceMinor: line.unit_price_cents,
        lineNo: line.line_no,
      })),
    placed_at: order.placed_at,
    updated_at: order.updated_at,
    confirmed_at: when('confirmed'),
    shipped_at: when('shipped'),
    delivered_at: when('delivered'),
    cancelled_at: when('cancelled'),
    payment_status: 'none',
    order_version: 0,
  };
}

/**
 * order-view taking over the monolith's order history (strangler fig): the change data capture's
 * snapshot of the seeded monolith (20,000 orders, 40,001 lines) folded into summaries equal to its
 * rows, then changes read from its log, copies of them, a customer's list mixing legacy and new
 * orders, a rebuild from the start of the log, and a copy built before order-view read the monolith
 * rebuilt by itself.
 */
describe.skipIf(!postgres.available)(
  suiteTitle('order-view takes over the monolith orders', postgres),
  // 60,000 events published, folded, and rebuilt twice: tens of seconds each on a loaded machine.
  { timeout: 180_000 },
  () => {
    let running: TestService<OrderViewConfig>;
    let store: TestBus;
    let db: Pool;
    let again: Service<OrderViewConfig> | undefined;

    const summaries = async (where = "order_id LIKE 'ord\\_legacy\\_%'") =>
      (await db.query<SummaryRow>(`${SUMMARY_SQL} WHERE ${where} ORDER BY order_id`)).rows;
    const summaryOf = async (legacyId: number) => (await summaries(`order_id = 'ord_legacy_${legacyId}'`))[0];
    const live = async () =>
      (
        await db.query<{ generation: number; events_applied: string; checkpoint: string | null }>(
          `SELECT generation, events_applied, checkpoint FROM read_model_generations WHERE status = 'live'`,
        )
      ).rows[0];
    /** Waits until the live copy has read the whole log (applied, or skipped as a copy). */
    const caughtUp = async () => {
      const { rows } = await store.messages.query<{ head: string }>(
        `SELECT tx::text || '.' || position::text AS head FROM bus_messages WHERE kind = 'topic'
        ORDER BY tx DESC, position DESC LIMIT 1`,
      );
      await waitFor(
        'the live copy at the head of the log',
        async () => (await live())?.checkpoint === rows[0]?.head,
      );
    };
    const stream = (n: number): CaptureSource => ({
      kind: 'stream',
      lsn: `0/1B0000${n}0`,
      txId: 1_000 + n,
      committedAt: `2026-11-02T09:00:0${n}.000Z`,
    });

    beforeAll(async () => {
      running = await startTestService(orderViewDefinition, {
        MERCATO_ADMIN_TOKEN: ADMIN,
        READ_MODEL_POLL_MS: '20',
      });
      store = connectTestBus(running.messagesUrl);
      db = createPool(
        { url: running.databaseUrl, max: 2, applicationName: 'test' },
        createLogger({ service: 'test', level: 'silent' }),
      );
    });

    afterAll(async () => {
      await again?.stop();
      await db?.end();
      await store?.close();
      await running?.stop();
    });

    it('folds the snapshot of the monolith into summaries equal to its rows', async () => {
      const snapshot = snapshotOf(monolith, SNAPSHOT);
      const publishing = Date.now();
      // One transaction, as the capture writes its snapshot to its outbox.
      await store.bus.publish(snapshot);
      const published = Date.now();
      await waitFor(
        'the snapshot folded',
        async () => Number((await live())?.events_applied) >= SNAPSHOT_EVENTS,
        120_000,
        10,
      );
      const folded = Date.now();
      console.info(
        `order-view folded the monolith's snapshot (${snapshot.length} events in the log, ${SNAPSHOT_EVENTS} its own: ` +
          `${monolith.orders.length} orders, ${monolith.lines.length} lines, ${monolith.products.length} products) ` +
          `in ${folded - published} ms (${Math.round((SNAPSHOT_EVENTS * 1000) / (folded - published))} events/s); ` +
          `publishing it took ${published - publishing} ms`,
      );

      const byOrder = new Map<string, LegacyLineRow[]>();
      for (const line of monolith.lines)
        byOrder.set(line.order_id, [...(byOrder.get(line.order_id) ?? []), line]);
      const expected = monolith.orders.map((order) =>
        expectedSummary(order, byOrder.get(order.id) ?? [], order.updated_at),
      );
      const actual = new Map((await summaries()).map((row) => [row.order_id, row]));
      expect(actual.size).toBe(monolith.orders.length);
      const differing = expected.filter((row) => !isDeepStrictEqual(actual.get(row.order_id), row));
      expect(
        differing.slice(0, 3).map((row) => ({ expected: row, actual: actual.get(row.order_id) })),
      ).toEqual([]);
      expect(new Set(expected.map((row) => row.lines.length)).size).toBe(3);
      expect([...actual.values()].reduce((sum, row) => sum + row.lines.length, 0)).toBe(
        monolith.lines.length,
      );

      // As the API shows it: over gRPC (money as bigint) and to the edge over HTTP (no line numbers).
      const client = running.client(OrderViewService);
      const { summary } = await client.getOrderSummary({ orderId: 'ord_legacy_5' });
      expect(summary).toMatchObject({
        customerId: `usr_legacy_${monolith.orders[4]?.customer_id}`,
        status: 'confirmed',
        totalMinor: BigInt(monolith.orders[4]?.total_cents ?? 0),
        currency: 'EUR',
        confirmedAt: monolith.orders[4]?.updated_at,
        orderVersion: 0,
      });
      expect(summary?.lines.map((line) => line.sku)).toEqual(
        byOrder.get('5')?.map((line) => products.get(line.product_id)?.sku),
      );
      const edge = (await (await fetch(`${running.url}/orders/ord_legacy_5/summary`)).json()) as {
        lines: unknown[];
      };
      expect(edge.lines[0]).toEqual({
        sku: expect.stringMatching(/^LEG-\d{4}$/),
        quantity: expect.any(Number),
        unit_price_minor: expect.any(Number),
      });
    });

    it('follows the monolith: a status moved, a line deleted and one added, a new order placed', async () => {
      // Order 5 is paid, with three lines.
      const order = monolith.orders[4] as LegacyOrderRow;
      const lines = monolith.lines.filter((line) => line.order_id === '5');
      expect(order.status).toBe('paid');
      expect(lines).toHaveLength(3);

      const shipped = { ...order, status: 'shipped', updated_at: '2026-11-02T09:00:01.000Z' };
      await store.bus.publish(legacyTransaction(stream(1), [['orders', 'update', shipped]]));
      await caughtUp();
      // Shipped now, and still confirmed when the snapshot saw it paid.
      expect(await summaryOf(5)).toEqual({
        ...expectedSummary(shipped, lines, shipped.updated_at),
        confirmed_at: order.updated_at,
      });

      // A line taken off the order, its total corrected with it, in one transaction.
      const [first, second, third] = lines as [LegacyLineRow, LegacyLineRow, LegacyLineRow];
      const smaller = {
        ...shipped,
        total_cents: shipped.total_cents - second.quantity * second.unit_price_cents,
      };
      await store.bus.publish(
        legacyTransaction(stream(2), [
          ['order_lines', 'delete', { order_id: '5', line_no: 2 }],
          ['orders', 'update', smaller],
        ]),
      );
      await caughtUp();
      const afterDelete = await summaryOf(5);
      expect(afterDelete?.lines.map((line) => line.lineNo)).toEqual([1, 3]);
      expect(afterDelete?.item_count).toBe(first.quantity + third.quantity);
      expect(afterDelete?.total_minor).toBe(smaller.total_cents);

      // A product the monolith adds, then a line of it added to the order in a later transaction.
      const product = {
        id: '201',
        sku: 'LEG-0201',
        name: 'New',
        price_cents: 250,
        updated_at: '2026-11-02T09:00:03.000Z',
      };
      const added = { order_id: '5', line_no: 4, product_id: '201', quantity: 2, unit_price_cents: 250 };
      const larger = { ...smaller, total_cents: smaller.total_cents + 500 };
      await store.bus.publish(legacyTransaction(stream(3), [['products', 'insert', product]]));
      await store.bus.publish(
        legacyTransaction(stream(4), [
          ['order_lines', 'insert', added],
          ['orders', 'update', larger],
        ]),
      );
      // A new order of customer 42, with its line, in one transaction.
      const price = products.get('7')?.price_cents ?? 0;
      const placed = {
        id: '20001',
        customer_id: '42',
        status: 'placed',
        total_cents: 2 * price,
        placed_at: '2026-11-02T09:00:05.000Z',
        updated_at: '2026-11-02T09:00:05.000Z',
      };
      const placedLine = {
        order_id: '20001',
        line_no: 1,
        product_id: '7',
        quantity: 2,
        unit_price_cents: price,
      };
      await store.bus.publish(
        legacyTransaction(stream(5), [
          ['orders', 'insert', placed],
          ['order_lines', 'insert', placedLine],
        ]),
      );
      await caughtUp();
      const final = await summaryOf(5);
      expect(final?.lines.map((line) => [line.lineNo, line.sku])).toEqual([
        [1, products.get(first.product_id)?.sku],
        [3, products.get(third.product_id)?.sku],
        [4, 'LEG-0201'],
      ]);
      expect(final?.item_count).toBe(first.quantity + third.quantity + 2);
      expect(final?.total_minor).toBe(larger.total_cents);
      expect(await summaryOf(20_001)).toMatchObject({
        customer_id: 'usr_legacy_42',
        status: 'pending',
        total_minor: 2 * price,
        item_count: 2,
        lines: [{ sku: 'LEG-0007', quantity: 2, unitPriceMinor: price, lineNo: 1 }],
        placed_at: placed.placed_at,
      });
    });

    it('applies a change once: a copy in the log, the same publish again, a snapshot taken again', async () => {
      const before = await summaries();
      const applied = Number((await live())?.events_applied);
      const { rows } = await store.messages.query<{
        envelope: Envelope;
        destination: string;
        partition_key: string;
      }>(
        `SELECT envelope, destination, partition_key FROM bus_messages
        WHERE destination LIKE 'legacy.%' AND envelope->'data'->'source'->>'kind' = 'stream' ORDER BY tx, position`,
      );
      expect(rows).toHaveLength(8);
      // A relay that died before deleting what it had published publishes it again: the same ids,
      // under other message ids (the store keeps a message id once)...
      for (const row of rows)
        await store.messages.query(
          `INSERT INTO bus_messages (kind, destination, partition_key, message_id, envelope)
         VALUES ('topic', $1, $2, $3, $4)`,
          [
            row.destination,
            row.partition_key,
            `${row.envelope.event_id}-again`,
            JSON.stringify(row.envelope),
          ],
        );
      // A raw insert notifies no reader of the log: as the bus does on a publish.
      await store.messages.query(`SELECT pg_notify('mercato_log', '')`);
      // ...and the same messages again, which the store drops.
      await store.bus.publish(
        rows.map((row) => ({
          kind: 'topic',
          destination: row.destination,
          key: row.partition_key,
          envelope: row.envelope,
        })),
      );
      await caughtUp();
      expect(Number((await live())?.events_applied)).toBe(applied);
      expect(await summaries()).toEqual(before);

      // The capture started over (its slot dropped): a new snapshot of the rows as they are now, under
      // new ids, changes nothing. Order 5's deleted line stays deleted.
      const order5 = (await summaryOf(5)) as SummaryRow;
      const again: CaptureSource = {
        ...SNAPSHOT,
        lsn: '0/1C000000',
        txId: 2_000,
        committedAt: '2026-11-02T10:00:00.000Z',
      };
      await store.bus.publish(
        legacyTransaction(again, [
          ['products', 'snapshot', { ...monolith.products[0], id: '1' }],
          [
            'orders',
            'snapshot',
            {
              id: '5',
              customer_id: order5.customer_id?.replace('usr_legacy_', ''),
              status: 'shipped',
              total_cents: order5.total_minor,
              placed_at: order5.placed_at,
              updated_at: order5.updated_at,
            },
          ],
          ...order5.lines.map(
            (line): RowChange => [
              'order_lines',
              'snapshot',
              {
                order_id: '5',
                line_no: line.lineNo,
                product_id: String(Number(line.sku.slice('LEG-'.length))),
                quantity: line.quantity,
                unit_price_cents: line.unitPriceMinor,
              },
            ],
          ),
        ]),
      );
      await caughtUp();
      expect(await summaries()).toEqual(before);
    });

    it("lists a migrated customer's legacy orders beside their new ones", async () => {
      const customer = 'usr_legacy_42';
      const legacy = monolith.orders.filter((order) => order.customer_id === '42');
      expect(legacy.length).toBeGreaterThan(0);
      await store.bus.publish([
        {
          kind: 'topic',
          destination: orderCreated.type,
          key: 'ord_new_42',
          envelope: {
            ...createEnvelope({
              contract: orderCreated,
              source: 'test',
              correlationId: 'corr_legacy',
              data: {
                order_id: 'ord_new_42',
                customer_id: customer,
                lines: [{ sku: 'LEG-0007', quantity: 1, unit_price_minor: 629 }],
                total_minor: 629,
                currency: 'EUR',
              },
              now: new Date('2026-11-03T10:00:00.000Z'),
            }),
            metadata: { order_version: 1 },
          },
        },
      ]);
      const client = running.client(OrderViewService);
      await waitFor('the new order listed', async () =>
        (await client.listCustomerOrders({ customerId: customer })).orders.some(
          (o) => o.orderId === 'ord_new_42',
        ),
      );
      const listed = await client.listCustomerOrders({ customerId: customer, pageSize: 100 });
      // Newest first: the order placed through the services, the one placed in the monolith during
      // the migration, then the history.
      expect(listed.orders.map((order) => order.orderId)).toEqual([
        'ord_new_42',
        'ord_legacy_20001',
        ...legacy.toReversed().map((order) => `ord_legacy_${order.id}`),
      ]);
      const counts: Record<string, number> = { pending: 2 };
      for (const order of legacy) {
        const status = legacyOrderStatus[order.status] as string;
        counts[status] = (counts[status] ?? 0) + 1;
      }
      expect(listed.counts).toEqual(counts);
      const page = await fetch(`${running.url}/customers/${customer}/orders?page_size=2`);
      const body = (await page.json()) as {
        orders: Array<{ order_id: string }>;
        next_page_token: string | null;
      };
      expect(body.orders.map((order) => order.order_id)).toEqual(['ord_new_42', 'ord_legacy_20001']);
      expect(body.next_page_token).not.toBeNull();
    });

    it('rebuilds from the start of the log to the same summaries', async () => {
      const before = await summaries('true');
      const admin = (path: string, method = 'GET') =>
        fetch(`${running.url}${path}`, { method, headers: { authorization: `Bearer ${ADMIN}` } });
      expect((await admin('/admin/read-model/rebuild', 'POST')).status).toBe(202);
      await waitFor('generation 2 live', async () => (await live())?.generation === 2, 120_000, 50);
      const status = (await (await admin('/admin/read-model')).json()) as {
        generations: Array<{ generation: number; compared_rows: number; differences: number }>;
      };
      const rebuilt = status.generations.find((generation) => generation.generation === 2);
      expect(rebuilt?.differences).toBe(0);
      // Every summary, and the products' SKUs.
      expect(rebuilt?.compared_rows).toBe(before.length + monolith.products.length + 1);
      expect(await summaries('true')).toEqual(before);
    });

    it('rebuilds by itself a copy built before it read the monolith, which had stepped over its snapshot', async () => {
      const complete = await summaries('true');
      // The copy as the release before this one left it: no legacy orders, no table of SKUs.
      const generation = (await live())?.generation;
      const schema = `order_view_g${generation}`;
      // With its view in public, which that release did not have either.
      await db.query(`DROP TABLE ${schema}.legacy_product_skus CASCADE`);
      await db.query(`DELETE FROM ${schema}.order_summaries WHERE order_id LIKE 'ord\\_legacy\\_%'`);
      const before = await summaries('true');
      expect(before.map((row) => row.order_id)).toEqual(['ord_new_42']);
      await running.service.stop();
      again = await createService(orderViewDefinition, {
        DATABASE_URL: running.databaseUrl,
        MESSAGES_DATABASE_URL: running.messagesUrl,
        MERCATO_ADMIN_TOKEN: ADMIN,
        READ_MODEL_POLL_MS: '20',
        PORT: '0',
        GRPC_PORT: '0',
        LOG_LEVEL: 'silent',
      });
      await again.start();
      await waitFor(
        'the rebuilt copy live',
        async () => (await live())?.generation === (generation ?? 0) + 1,
        120_000,
        50,
      );
      expect(await summaries('true')).toEqual(complete);
    });
  },
);
