import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '@mercato/chassis/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isAlive, PlatformProcess } from './support/platform-process.ts';
import { platformDataDir } from './support/platform-template.ts';
import { type OrderJson, ShopClient } from './support/shop-client.ts';

// Ports of their own, so the suite runs beside a developer's `npm start` and the other e2e suites.
const ports = { postgres: 25402, gateway: 19280, base: 16201, grpcBase: 17201 };
const gateway = `http://127.0.0.1:${ports.gateway}`;
/** The payment step's timeout here: short, so the provider can be down for longer within a test. */
const PAYMENT_STEP_MS = 2_000;

/**
 * The cancel saga keeping its promises at the edge: once the refund (its pivot) may have happened,
 * the hold on the parcel is never undone, whatever the provider does.
 */
describe('cancelling orders under faults (CancelOrder saga)', () => {
  let dataDir = '';
  let platform: PlatformProcess;
  let shop: ShopClient;
  let token = '';
  let keys = 0;
  const stragglers: number[] = [];

  const place = async (sku: string, quantity: number): Promise<OrderJson> => {
    const response = await shop.placeOrder(token, `e2e-saga-${++keys}`, [{ sku, quantity }]);
    expect(response.status).toBe(202);
    return (await response.json()) as OrderJson;
  };
  const until = async (orderId: string, done: (order: OrderJson) => boolean, what: string, ms = 30_000) => {
    let last: OrderJson | undefined;
    await waitFor(
      `order ${orderId}: ${what}`,
      async () => {
        last = await shop.order(token, orderId);
        return done(last);
      },
      ms,
      100,
    );
    return last as OrderJson;
  };
  const cancel = (orderId: string) =>
    fetch(`${gateway}/api/orders/${orderId}/cancel`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });

  beforeAll(async () => {
    dataDir = await platformDataDir('sagas');
    platform = new PlatformProcess(dataDir, ports, {
      GATEWAY_RATE_LIMIT_DEFAULT: 'off',
      ORDER_PAYMENT_TIMEOUT_MS: String(PAYMENT_STEP_MS),
      CARRIER_DELIVERY_MS: '1500',
      FULFILLMENT_TRACK_EVERY_MS: '200',
    });
    await platform.waitForLine(/all services ready in/, 90_000);
    const state = await platform.state();
    stragglers.push(state.supervisor_pid, ...Object.values(state.services).map((s) => s.pid ?? 0));
    shop = await ShopClient.connect(gateway, dataDir, () => platform.state());
    token = await shop.customer('sagas-e2e@mercato.test');
  });

  afterEach(async () => {
    await shop.knobs({ outage: false, latency_ms: 0, refund_failure_rate: 0, decline_rate: 0 });
    await shop.carrierKnobs({ outage: false, failure_rate: 0, lost_rate: 0, latency_ms: 0 });
  });

  afterAll(async () => {
    platform.child.kill('SIGINT');
    await Promise.race([platform.exited(), sleep(15_000)]);
    for (const pid of stragglers) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });

  it('provider down for longer than the payment step while a confirmed order is cancelled: cancelled once it is back, refunded once, the parcel never reaches the carrier', async () => {
    // The carrier is down, so the confirmed order's parcel waits in the warehouse.
    await shop.carrierKnobs({ outage: true });
    const before = await shop.available('KIT-0001');
    const placed = await place('KIT-0001', 1);
    await until(placed.order_id, (order) => order.status === 'confirmed', 'confirmed');

    // The provider goes down; the customer cancels. The parcel is held, then the refund cannot go through.
    await shop.knobs({ outage: true });
    const cancelled = await cancel(placed.order_id);
    expect(cancelled.status).toBe(202);
    // The semantic lock: the customer sees the cancel under way.
    expect(((await cancelled.json()) as OrderJson).status).toBe('cancel_pending');
    // Past the payment step's timeout the refund (the pivot) is retried forward, never undone: stuck.
    const stuck = await until(
      placed.order_id,
      (order) => order.saga?.status === 'stuck',
      'the cancel saga stuck on the refund',
    );
    expect(stuck).toMatchObject({
      status: 'cancel_pending',
      saga: { id: `${placed.order_id}.cancel.1`, step: 'refund payment' },
    });
    expect(stuck.saga?.reason).toMatch(/^refund payment timed out \(\d+ attempts\)$/);
    const listed = (await shop.admin('order', '/admin/sagas?status=stuck')) as {
      items: { saga_id: string; saga_type: string; why: string; stuck: { step: string; attempts: number } }[];
    };
    expect(listed.items).toContainEqual(
      expect.objectContaining({
        saga_id: `${placed.order_id}.cancel.1`,
        saga_type: 'cancel-order',
        why: expect.stringMatching(/^refund payment timed out/),
        stuck: expect.objectContaining({ step: 'refund payment' }),
      }),
    );
    expect(await shop.metrics('order')).toMatch(
      /saga_step_stuck\{saga="cancel-order",step="refund payment"[^}]*\} 1/,
    );

    // The carrier comes back while the refund is still impossible, for several payment steps.
    await shop.carrierKnobs({ outage: false });
    await sleep(3 * PAYMENT_STEP_MS);
    expect(await shop.carrierParcels(placed.order_id)).toEqual([]);
    expect((await shop.shipment(token, placed.order_id)).body).toMatchObject({ status: 'held' });

    // The provider is back: the refund goes through, the stock returns, the order is cancelled.
    await shop.knobs({ outage: false });
    const order = await until(
      placed.order_id,
      (current) => current.status === 'cancelled' && current.saga?.status === 'completed',
      'cancelled',
    );
    expect(order.reason).toBe('customer_request');
    const ledger = await shop.providerLedger(placed.order_id);
    expect(ledger).toMatchObject({ captured: placed.total_minor, refunded: placed.total_minor, net: 0 });
    const payment = await shop.payment(placed.order_id);
    expect(payment?.refunds).toHaveLength(1);
    expect(payment?.refundedMinor).toBe(BigInt(placed.total_minor));
    await waitFor('the stock back on the shelf', async () => {
      const stock = await shop.available('KIT-0001');
      return stock.available === before.available && stock.reserved === before.reserved;
    });
    // Long enough for a released parcel to have been handed over (the worker asks every ≤ 5 s).
    await sleep(6_000);
    expect(await shop.carrierParcels(placed.order_id)).toEqual([]);
    expect((await shop.shipment(token, placed.order_id)).body).toMatchObject({ status: 'cancelled' });
    expect(await shop.metrics('order')).not.toMatch(
      /saga_step_stuck\{saga="cancel-order",step="refund payment"[^}]*\} [1-9]/,
    );
  });

  it('lists sagas by status for operators, and answers a bad query with a problem', async () => {
    const url = (await platform.state()).services.order?.url;
    const adminToken = (await readFile(path.join(dataDir, 'run', 'admin-token'), 'utf8')).trim();
    const admin = { authorization: `Bearer ${adminToken}` };
    const bad = await fetch(`${url}/admin/sagas?status=stuck-ish`, { headers: admin });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toContain('application/problem+json');
    expect(((await bad.json()) as { detail: string }).detail).toMatch(/status/);
    const tooMany = await fetch(`${url}/admin/sagas?limit=0`, { headers: admin });
    expect(tooMany.status).toBe(400);
    const unknown = await fetch(`${url}/admin/sagas/nope.cancel.1/retry`, { method: 'POST', headers: admin });
    expect(unknown.status).toBe(404);
  });
});
