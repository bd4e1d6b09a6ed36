import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '@mercato/chassis/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isAlive, PlatformProcess } from './support/platform-process.ts';
import { platformDataDir } from './support/platform-template.ts';
import { type OrderJson, ShopClient } from './support/shop-client.ts';

// Ports of their own, so the suite runs beside a developer's `npm start` and the other e2e suites.
const ports = { postgres: 25394, gateway: 18480, base: 14501, grpcBase: 15501 };
const gateway = `http://127.0.0.1:${ports.gateway}`;

/**
 * The PlaceOrder saga on the running platform, each outcome checked in every service it touches:
 * the order (status, events), inventory (stock counts), payment (its record) and the provider (its
 * books). Step timeouts are short here so timeouts happen within a test.
 */
describe('placing orders through the gateway (PlaceOrder saga)', () => {
  let dataDir = '';
  let platform: PlatformProcess;
  let shop: ShopClient;
  let token = '';
  let keys = 0;
  const stragglers: number[] = [];
  const key = () => `e2e-order-${String(++keys).padStart(4, '0')}`;
  const placedIds: string[] = [];

  /** Places an order, expects 202, and returns its id. */
  const place = async (items: { sku: string; quantity: number }[]): Promise<OrderJson> => {
    const response = await shop.placeOrder(token, key(), items);
    expect(response.status).toBe(202);
    const order = (await response.json()) as OrderJson;
    placedIds.push(order.order_id);
    return order;
  };

  beforeAll(async () => {
    dataDir = await platformDataDir('orders');
    platform = new PlatformProcess(dataDir, ports, {
      GATEWAY_RATE_LIMIT_DEFAULT: 'off',
      ORDER_RESERVE_TIMEOUT_MS: '3000',
      ORDER_PAYMENT_TIMEOUT_MS: '2000',
      ORDER_CONFIRM_TIMEOUT_MS: '3000',
      ORDER_SAGA_COMPENSATION_ATTEMPTS: '3',
      // The PlaceOrder saga alone: confirmed orders stay confirmed (e2e/fulfillment ships them).
      FULFILLMENT_WORKERS: '0',
    });
    await platform.waitForLine(/all services ready in/, 90_000);
    const state = await platform.state();
    stragglers.push(state.supervisor_pid, ...Object.values(state.services).map((s) => s.pid ?? 0));
    shop = await ShopClient.connect(gateway, dataDir, () => platform.state());
    token = await shop.customer('orders-e2e@mercato.test');
  });

  afterEach(async () => {
    await shop.knobs({ decline_rate: 0, refund_failure_rate: 0, latency_ms: 0, outage: false });
  });

  afterAll(async () => {
    platform.child.kill('SIGINT');
    await Promise.race([platform.exited(), sleep(15_000)]);
    for (const pid of stragglers) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });

  it('happy path: confirmed; the stock left the shelf, payment captured the total, the provider holds it', async () => {
    const before = await shop.available('BOK-0001');
    const placed = await place([{ sku: 'BOK-0001', quantity: 2 }]);
    expect(placed).toMatchObject({ status: 'pending', total_minor: 3800 });

    const order = await shop.settled(token, placed.order_id);
    expect(order).toMatchObject({ status: 'confirmed', reason: null, saga: { status: 'completed' } });
    expect(await shop.available('BOK-0001')).toEqual({
      available: before.available - 2,
      reserved: before.reserved,
    });
    expect(await shop.payment(placed.order_id)).toMatchObject({
      status: 'captured',
      capturedMinor: 3800n,
      refundedMinor: 0n,
    });
    expect(await shop.providerLedger(placed.order_id)).toMatchObject({
      captured: 3800,
      refunded: 0,
      net: 3800,
      intents: 1,
    });

    const events = (await (
      await fetch(`${gateway}/api/orders/${placed.order_id}/events`, {
        headers: { authorization: `Bearer ${token}` },
      })
    ).json()) as { events: { type: string; recorded_at: string }[] };
    expect(events.events.map((event) => event.type)).toEqual([
      'OrderPlaced',
      'InventoryReserved',
      'PaymentAuthorized',
      'OrderConfirmed',
    ]);
    // As it stood when its first event was recorded: replayed from that event only.
    const then = await shop.order(token, placed.order_id, events.events[0]?.recorded_at);
    expect(then).toMatchObject({ status: 'pending', version: 1 });
  });

  it('payment declined: cancelled, stock released, payment declined, net charge 0 at the provider', async () => {
    await shop.knobs({ decline_rate: 1 });
    const before = await shop.available('BOK-0002');
    const placed = await place([{ sku: 'BOK-0002', quantity: 1 }]);
    const order = await shop.settled(token, placed.order_id);
    expect(order).toMatchObject({
      status: 'cancelled',
      reason: 'payment_declined',
      saga: { status: 'compensated' },
    });
    expect(await shop.available('BOK-0002')).toEqual(before);
    expect(await shop.payment(placed.order_id)).toMatchObject({ status: 'declined', capturedMinor: 0n });
    expect(await shop.providerLedger(placed.order_id)).toMatchObject({ captured: 0, net: 0, intents: 1 });
  });

  it('stock-out: cancelled, nothing reserved, and payment never called (no record, nothing at the provider)', async () => {
    const before = await shop.available('BOK-0003');
    const placed = await place([{ sku: 'BOK-0003', quantity: 999 }]);
    const order = await shop.settled(token, placed.order_id);
    expect(order).toMatchObject({ status: 'cancelled', reason: 'stock_unavailable' });
    expect(await shop.available('BOK-0003')).toEqual(before);
    expect(await shop.payment(placed.order_id)).toBeUndefined();
    expect(await shop.providerLedger(placed.order_id)).toMatchObject({
      captured: 0,
      refunded: 0,
      net: 0,
      intents: 0,
    });
  });

  it('provider outage longer than the payment step timeout: compensated once it is back, stock restored, net 0', async () => {
    await shop.knobs({ outage: true });
    const before = await shop.available('BOK-0011');
    const placed = await place([{ sku: 'BOK-0011', quantity: 1 }]);
    await waitFor(
      'the payment step timing out',
      async () => (await shop.order(token, placed.order_id)).saga?.status === 'compensating',
      10_000,
      100,
    );
    expect((await shop.order(token, placed.order_id)).saga?.reason).toBe('take payment timed out');
    await sleep(1_000);
    await shop.knobs({ outage: false });
    const order = await shop.settled(token, placed.order_id);
    expect(order).toMatchObject({
      status: 'cancelled',
      reason: 'step_timed_out',
      saga: { status: 'compensated' },
    });
    expect(await shop.available('BOK-0011')).toEqual(before);
    expect((await shop.providerLedger(placed.order_id)).net).toBe(0);
    expect(['voided', 'failed', 'refunded']).toContain((await shop.payment(placed.order_id))?.status);
  });

  it('cancelling a confirmed order refunds it at the provider and puts its stock back on the shelf', async () => {
    const before = await shop.available('BOK-0012');
    const placed = await place([{ sku: 'BOK-0012', quantity: 3 }]);
    expect((await shop.settled(token, placed.order_id)).status).toBe('confirmed');
    const cancel = await fetch(`${gateway}/api/orders/${placed.order_id}/cancel`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(cancel.status).toBe(202);
    await waitFor(
      'the cancellation',
      async () => (await shop.order(token, placed.order_id)).status === 'cancelled',
      20_000,
      100,
    );
    expect((await shop.order(token, placed.order_id)).reason).toBe('customer_request');
    expect(await shop.available('BOK-0012')).toEqual(before);
    expect(await shop.payment(placed.order_id)).toMatchObject({
      status: 'refunded',
      refundedMinor: placed.total_minor ? BigInt(placed.total_minor) : 0n,
    });
    expect(await shop.providerLedger(placed.order_id)).toMatchObject({
      net: 0,
      refunded: placed.total_minor,
    });
  });

  it('keeps each customer to their own orders and enforces Idempotency-Key semantics (same → same order, other body → 422)', async () => {
    const placed = await place([{ sku: 'BOK-0013', quantity: 1 }]);
    const stranger = await shop.customer('stranger-e2e@mercato.test');
    const peek = await fetch(`${gateway}/api/orders/${placed.order_id}`, {
      headers: { authorization: `Bearer ${stranger}` },
    });
    expect(peek.status).toBe(404);
    expect(peek.headers.get('content-type')).toContain('application/problem+json');

    const reused = `e2e-reused-${Date.now()}`;
    const first = await shop.placeOrder(token, reused, [{ sku: 'BOK-0013', quantity: 1 }]);
    const again = await shop.placeOrder(token, reused, [{ sku: 'BOK-0013', quantity: 1 }]);
    expect(((await again.json()) as OrderJson).order_id).toBe(((await first.json()) as OrderJson).order_id);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const other = await shop.placeOrder(token, reused, [{ sku: 'BOK-0013', quantity: 2 }]);
    expect(other.status).toBe(422);
    expect(((await other.json()) as { code: string }).code).toBe('ORDER.IDEMPOTENCY_KEY_REUSED');
    const missing = await fetch(`${gateway}/api/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ items: [{ sku: 'BOK-0013', quantity: 1 }], shipping_address: 'x' }),
    });
    expect(missing.status).toBe(400);
  });

  it('rebuilding the order-summaries projection from position 0 yields the same view', async () => {
    await place([{ sku: 'BOK-0001', quantity: 1 }]);
    await waitFor('the projection to hold every order placed here', async () => {
      const view = (await shop.admin('order', '/admin/orders?limit=1000')) as {
        items: { order_id: string }[];
      };
      const listed = new Set(view.items.map((item) => item.order_id));
      return placedIds.every((id) => listed.has(id));
    });
    for (const id of placedIds) await shop.settled(token, id);
    await waitFor('the projection to show every order settled', async () => {
      const view = (await shop.admin('order', '/admin/orders?limit=1000')) as { items: { status: string }[] };
      return view.items.every((item) => item.status !== 'pending');
    });
    const before = await shop.admin('order', '/admin/orders?limit=1000');
    const rebuilt = (await shop.admin('order', '/admin/projections/order-summaries/rebuild', {
      method: 'POST',
    })) as {
      applied: number;
    };
    expect(rebuilt.applied).toBeGreaterThanOrEqual(placedIds.length);
    expect(await shop.admin('order', '/admin/orders?limit=1000')).toEqual(before);
  });

  it('a compensation that keeps failing leaves the saga FAILED: visible in the API, counted, logged as an error', async () => {
    // Slower than the payment step's timeout, and refunds refused: the charge cannot be undone.
    await shop.knobs({ latency_ms: 2_500, refund_failure_rate: 1 });
    const placed = await place([{ sku: 'BOK-0021', quantity: 1 }]);
    const order = await shop.settled(token, placed.order_id, 60_000);
    expect(order).toMatchObject({ status: 'failed', saga: { status: 'failed' } });
    expect(order.saga?.reason).toMatch(/could not undo take payment after 3 attempts/);
    const failed = (await shop.admin('order', '/admin/sagas?status=failed')) as {
      items: { saga_id: string }[];
    };
    expect(failed.items.map((item) => item.saga_id)).toContain(`${placed.order_id}.place`);
    expect(await shop.metrics('order')).toMatch(/saga_failed_total\{saga="place-order"[^}]*\} [1-9]/);
    await waitFor('the error log line', () =>
      platform
        .jsonLines()
        .some(
          (line) =>
            line.level === 'error' &&
            String(line.message).includes('saga FAILED') &&
            line.saga_id === `${placed.order_id}.place`,
        ),
    );
  });
});
