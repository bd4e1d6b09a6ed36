import {
  connectTestBus,
  probePostgres,
  startTestService,
  suiteTitle,
  type TestBus,
  type TestService,
  waitFor,
} from '@mercato/chassis/testing';
import {
  createEnvelope,
  type Envelope,
  orderCancelled,
  orderConfirmed,
  orderCreated,
  paymentProcessed,
  paymentRefunded,
  productCreated,
} from '@mercato/contracts';
import { AnalyticsService } from '@mercato/contracts/grpc/analytics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyticsDefinition } from '../src/analytics.service.ts';
import type { AnalyticsConfig } from '../src/config.ts';

const postgres = await probePostgres();
const day = Date.UTC(2026, 10, 2, 9, 0, 0);
const ADMIN = 'analytics-test-admin-token-0123456';

/**
 * analytics over a real PostgreSQL message store: sales per day and category count only orders
 * that stayed confirmed, saga outcomes with reasons and time to confirm, and "bought together"
 * recommendations with the popular-in-category fallback.
 */
describe.skipIf(!postgres.available)(suiteTitle('analytics read model', postgres), () => {
  let running: TestService<AnalyticsConfig>;
  let messageStore: TestBus;

  const published: Envelope[] = [];
  const publish = async (envelope: Envelope) => {
    published.push(envelope);
    await messageStore.bus.publish([
      {
        kind: 'topic',
        destination: envelope.event_type,
        key: String(envelope.data.order_id ?? envelope.data.sku),
        envelope,
      },
    ]);
  };
  const at = (ms: number) => new Date(day + ms);
  const event = (
    contract: Parameters<typeof createEnvelope>[0]['contract'],
    data: Record<string, unknown>,
    ms: number,
  ) => createEnvelope({ contract, source: 'test', correlationId: 'corr', data, now: at(ms) });
  const lines = (...skus: string[]) => skus.map((sku) => ({ sku, quantity: 1, unit_price_minor: 1000 }));
  async function order(
    id: string,
    customer: string,
    skus: string[],
    outcome: 'confirmed' | 'declined' | 'lost',
    ms: number,
  ) {
    const data = {
      order_id: id,
      customer_id: customer,
      lines: lines(...skus),
      total_minor: skus.length * 1000,
      currency: 'EUR',
    };
    await publish(event(orderCreated, data, ms));
    if (outcome === 'declined') {
      await publish(
        event(
          orderCancelled,
          { order_id: id, customer_id: customer, reason: 'payment_declined', reason_detail: null },
          ms + 50,
        ),
      );
      return;
    }
    await publish(
      event(
        paymentProcessed,
        { order_id: id, payment_id: `pay_${id}`, amount_minor: data.total_minor, currency: 'EUR' },
        ms + 40,
      ),
    );
    await publish(
      event(
        orderConfirmed,
        { ...data, shipping_address: 'x', reservation_id: `r_${id}` },
        ms + 100 + skus.length * 100,
      ),
    );
    if (outcome === 'lost') {
      await publish(
        event(
          orderCancelled,
          { order_id: id, customer_id: customer, reason: 'shipping_failed', reason_detail: 'parcel_lost' },
          ms + 900,
        ),
      );
      await publish(
        event(
          paymentRefunded,
          { order_id: id, refund_id: `ref_${id}`, amount_minor: data.total_minor, currency: 'EUR' },
          ms + 950,
        ),
      );
    }
  }

  beforeAll(async () => {
    running = await startTestService(analyticsDefinition, {
      READ_MODEL_POLL_MS: '20',
      MERCATO_ADMIN_TOKEN: ADMIN,
    });
    messageStore = connectTestBus(running.messagesUrl);
    for (const [sku, category] of [
      ['BOOK-1', 'books'],
      ['BOOK-2', 'books'],
      ['BOOK-3', 'books'],
      ['MUG-1', 'kitchen'],
    ]) {
      await publish(event(productCreated, { product_id: `p_${sku}`, sku, name: sku, category }, 0));
    }
    await order('o1', 'alice', ['BOOK-1', 'BOOK-2'], 'confirmed', 1_000);
    await order('o2', 'bob', ['BOOK-1', 'BOOK-2', 'MUG-1'], 'confirmed', 2_000);
    await order('o3', 'carol', ['BOOK-3'], 'confirmed', 3_000);
    await order('o4', 'dave', ['BOOK-3'], 'confirmed', 4_000);
    await order('o5', 'erin', ['MUG-1'], 'declined', 5_000);
    await order('o6', 'frank', ['BOOK-2'], 'lost', 6_000);
    await order('o7', 'gina', ['BOOK-1'], 'confirmed', 7_000);
    // A relay that died between publishing and deleting publishes again what it had: the same
    // events (o2's confirmation, o6's refund) again in the log, under new message ids. Counted once.
    for (const again of published.filter(
      (envelope) =>
        (envelope.event_type === orderConfirmed.type && envelope.data.order_id === 'o2') ||
        envelope.event_type === paymentRefunded.type,
    ))
      await messageStore.messages.query(
        `INSERT INTO bus_messages (kind, destination, partition_key, message_id, envelope)
         VALUES ('topic', $1, $2, $3, $4)`,
        [again.event_type, again.data.order_id, `${again.event_id}-again`, JSON.stringify(again)],
      );
  });

  afterAll(async () => {
    await messageStore?.close();
    await running?.stop();
  });

  it('reports sales of orders that stayed confirmed, per day and per category', async () => {
    const client = running.client(AnalyticsService);
    await waitFor('every order applied', async () => {
      const outcomes = await client.getSagaOutcomes({});
      const caughtUp = (await (await fetch(`${running.url}/readyz`)).json()) as {
        detail: Record<string, { live: { lag: { events: number } } }>;
      };
      return outcomes.placed === 7 && caughtUp.detail.analytics?.live.lag.events === 0;
    });
    const sales = await client.getSalesReport({ from: '2026-11-02', to: '2026-11-02' });
    expect(sales.days).toEqual([
      expect.objectContaining({
        day: '2026-11-02',
        currency: 'EUR',
        orders: 5,
        units: 8,
        revenueMinor: 8000n,
      }),
    ]);
    const books = sales.categories.find((c) => c.category === 'books');
    expect(books).toMatchObject({ units: 7, revenueMinor: 7000n });
    expect(sales.position).toMatch(/^\d+\.\d+$/);
  });

  it('counts saga outcomes by reason, compensations and time to confirm', async () => {
    const outcomes = await running.client(AnalyticsService).getSagaOutcomes({});
    expect(outcomes).toMatchObject({
      placed: 7,
      pending: 0,
      confirmed: 6,
      failed: 0,
      compensated: 2,
      refunds: 1,
    });
    expect(outcomes.cancelledByReason).toEqual({ payment_declined: 1, shipping_failed: 1 });
    // Confirmed 200 ms (four one-line orders), 300 and 400 ms after placing: p99 interpolates.
    expect(outcomes.confirmP50Ms).toBe(200);
    expect(outcomes.confirmP99Ms).toBeCloseTo(395, 6);
  });

  it('recommends what others bought together, then what is popular in the customer’s categories', async () => {
    const client = running.client(AnalyticsService);
    const alice = await client.getRecommendations({ customerId: 'alice', limit: 3 });
    expect(alice.items.map((i) => [i.sku, i.reason])).toEqual([
      ['MUG-1', 'bought_together'],
      ['BOOK-3', 'popular_in_category'],
    ]);
    const stranger = await fetch(`${running.url}/customers/nobody/recommendations?limit=2`);
    expect(((await stranger.json()) as { items: Array<{ sku: string }> }).items.map((i) => i.sku)).toEqual([
      'BOOK-1',
      'BOOK-2',
    ]);
    const bad = await fetch(`${running.url}/reports/sales?from=2026-11-05&to=2026-11-01`);
    expect(bad.status).toBe(400);
  });

  it('rebuilds while it is read: every read answered, the rebuilt copy equal to the live one', async () => {
    const client = running.client(AnalyticsService);
    const failures: string[] = [];
    let reading = true;
    const readers = Promise.all(
      [0, 1, 2].map(async (n) => {
        while (reading) {
          await (n === 0
            ? client.getSagaOutcomes({})
            : client.getRecommendations({ customerId: 'alice', limit: 3 })
          ).catch((error: Error) => failures.push(error.message));
        }
      }),
    );
    const admin = (method: string, route: string) =>
      fetch(`${running.url}${route}`, { method, headers: { authorization: `Bearer ${ADMIN}` } });
    expect((await admin('POST', '/admin/read-model/rebuild')).status).toBe(202);
    let rebuilt: { status: string; differences: number | null; compared_rows: number | null } | undefined;
    await waitFor('generation 2 live', async () => {
      const status = (await (await admin('GET', '/admin/read-model')).json()) as {
        generations: Array<{
          generation: number;
          status: string;
          differences: number | null;
          compared_rows: number | null;
        }>;
      };
      rebuilt = status.generations.find((g) => g.generation === 2 && g.status === 'live');
      return rebuilt !== undefined;
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    reading = false;
    await readers;
    expect(failures).toEqual([]);
    expect(rebuilt).toMatchObject({ differences: 0 });
    expect(rebuilt?.compared_rows).toBeGreaterThan(20);
  });
});
