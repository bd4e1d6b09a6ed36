import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '@mercato/chassis/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isAlive, PlatformProcess } from './support/platform-process.ts';
import { platformDataDir } from './support/platform-template.ts';
import { type OrderJson, ShopClient, type SinkMail } from './support/shop-client.ts';

// Ports of their own, so the suite runs beside a developer's `npm start` and the other e2e suites.
const ports = { postgres: 25397, gateway: 18780, base: 14801, grpcBase: 15801 };
const gateway = `http://127.0.0.1:${ports.gateway}`;

/**
 * After PlaceOrder: fulfillment picks, packs and hands the parcel to the carrier, tracks it to
 * delivery, and when shipping fails every service undoes its part on the shipment.failed event
 * alone (the backward cascade, choreographed). Each outcome is checked in every service involved:
 * order, fulfillment, carrier, payment, provider, inventory.
 */
describe('fulfilling orders (choreographed) with a carrier', () => {
  let dataDir = '';
  let platform: PlatformProcess;
  let shop: ShopClient;
  let token = '';
  let keys = 0;
  const email = 'fulfillment-e2e@mercato.test';
  const stragglers: number[] = [];

  const place = async (sku: string, quantity: number): Promise<OrderJson> => {
    const response = await shop.placeOrder(token, `e2e-ship-${++keys}`, [{ sku, quantity }]);
    expect(response.status).toBe(202);
    return (await response.json()) as OrderJson;
  };
  const until = async (orderId: string, statuses: string[]) => {
    let last: OrderJson | undefined;
    await waitFor(
      `order ${orderId} ${statuses.join(' or ')}`,
      async () => {
        last = await shop.order(token, orderId);
        return statuses.includes(last.status);
      },
      30_000,
      100,
    );
    return last as OrderJson;
  };
  /** The mails the sink holds about an order, by kind, once `kinds` have all arrived. */
  const mailsAbout = async (orderId: string, kinds: string[]) => {
    let about: SinkMail[] = [];
    await waitFor(
      `mails ${kinds.join(', ')} for ${orderId}`,
      async () => {
        about = (await shop.mails(email)).filter((mail) => mail.headers['x-mercato-order-id'] === orderId);
        return kinds.every((kind) => about.some((mail) => mail.headers['x-mercato-kind'] === kind));
      },
      20_000,
      200,
    );
    return new Map(about.map((mail) => [mail.headers['x-mercato-kind'] ?? '', mail]));
  };
  const eventTypes = async (orderId: string) => {
    const response = await fetch(`${gateway}/api/orders/${orderId}/events`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const { events } = (await response.json()) as { events: { type: string }[] };
    return events.map((event) => event.type);
  };

  beforeAll(async () => {
    dataDir = await platformDataDir('fulfillment');
    platform = new PlatformProcess(dataDir, ports, {
      GATEWAY_RATE_LIMIT_DEFAULT: 'off',
      CARRIER_DELIVERY_MS: '1500',
      FULFILLMENT_TRACK_EVERY_MS: '200',
    });
    await platform.waitForLine(/all services ready in/, 90_000);
    const state = await platform.state();
    stragglers.push(state.supervisor_pid, ...Object.values(state.services).map((s) => s.pid ?? 0));
    shop = await ShopClient.connect(gateway, dataDir, () => platform.state());
    token = await shop.customer(email);
  });

  afterEach(async () => {
    await shop.carrierKnobs({ failure_rate: 0, lost_rate: 0, outage: false, latency_ms: 0 });
  });

  afterAll(async () => {
    platform.child.kill('SIGINT');
    await Promise.race([platform.exited(), sleep(15_000)]);
    for (const pid of stragglers) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });

  it('placed → confirmed → shipped → delivered: one parcel at the carrier, the charge kept, the stock gone', async () => {
    const before = await shop.available('BOK-0002');
    const placed = await place('BOK-0002', 2);
    const order = await until(placed.order_id, ['delivered']);
    expect(order).toMatchObject({ status: 'delivered', reason: null });
    expect(await eventTypes(placed.order_id)).toEqual([
      'OrderPlaced',
      'InventoryReserved',
      'PaymentAuthorized',
      'OrderConfirmed',
      'OrderShipped',
      'OrderDelivered',
    ]);

    const shipment = await shop.shipment(token, placed.order_id);
    expect(shipment.status).toBe(200);
    expect(shipment.body).toMatchObject({
      status: 'delivered',
      lines: [{ sku: 'BOK-0002', quantity: 2 }],
      reason: null,
    });
    expect(shipment.body.tracking_number).toMatch(/^TRK/);
    const parcels = await shop.carrierParcels(placed.order_id);
    expect(parcels).toHaveLength(1);
    expect(parcels[0]?.status).toBe('delivered');
    expect(await shop.providerLedger(placed.order_id)).toMatchObject({ net: order.total_minor });
    expect(await shop.available('BOK-0002')).toEqual({
      available: before.available - 2,
      reserved: before.reserved,
    });

    // notification mailed each step over SMTP: the sink holds them, with the lines and the total.
    const mails = await mailsAbout(placed.order_id, [
      'order.confirmed',
      'shipment.dispatched',
      'shipment.delivered',
    ]);
    const confirmed = mails.get('order.confirmed');
    expect(confirmed?.to).toEqual([email]);
    expect(confirmed?.subject).toBe(`Your order ${placed.order_id} is confirmed`);
    expect(confirmed?.text).toContain('2 × BOK-0002');
    expect(confirmed?.text).toContain(`Total  EUR ${(order.total_minor / 100).toFixed(2)}`);
    expect(confirmed?.html).toContain('<table>');
    expect(mails.get('shipment.dispatched')?.text).toContain(shipment.body.tracking_number ?? 'TRK');
    expect(mails.get('shipment.delivered')?.text).toContain('2 × BOK-0002');
    // Each mail once, its Message-ID derived from the event and the recipient.
    const ids = [...mails.values()].map((mail) => mail.message_id);
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) expect(id).toMatch(/^<[0-9a-f]{32}@notification\.mercato>$/);

    // The customer sees them at the edge; another customer does not.
    const mine = await fetch(`${gateway}/api/customers/me/notifications`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const listed = (
      (await mine.json()) as { notifications: { order_id: string; kind: string; sends: number }[] }
    ).notifications;
    expect(
      listed
        .filter((sent) => sent.order_id === placed.order_id)
        .map((sent) => sent.kind)
        .sort(),
    ).toEqual(['order.confirmed', 'shipment.delivered', 'shipment.dispatched']);
    const other = await shop.customer('fulfillment-mailless@mercato.test');
    const theirs = await fetch(`${gateway}/api/customers/me/notifications`, {
      headers: { authorization: `Bearer ${other}` },
    });
    expect(((await theirs.json()) as { notifications: unknown[] }).notifications).toEqual([]);
    const admin = (await shop.admin(
      'notification',
      `/admin/notifications?customer_id=${order.customer_id}`,
    )) as {
      notifications: { order_id: string }[];
    };
    expect(admin.notifications.some((sent) => sent.order_id === placed.order_id)).toBe(true);
  });

  it('the carrier refuses the parcel: refunded at the provider, stock back in its warehouse, order cancelled with the reason', async () => {
    await shop.carrierKnobs({ failure_rate: 1 });
    const before = await shop.available('KIT-0001');
    const placed = await place('KIT-0001', 1);
    const order = await until(placed.order_id, ['cancelled']);
    expect(order).toMatchObject({ reason: 'shipping_failed', reason_detail: 'address_unserviceable' });
    expect(await eventTypes(placed.order_id)).toEqual([
      'OrderPlaced',
      'InventoryReserved',
      'PaymentAuthorized',
      'OrderConfirmed',
      'OrderCancelled',
    ]);
    const shipment = await shop.shipment(token, placed.order_id);
    expect(shipment.body).toMatchObject({ status: 'failed', reason: 'address_unserviceable' });
    expect((await shop.carrierParcels(placed.order_id)).map((parcel) => parcel.status)).toEqual(['refused']);

    // payment and inventory react to shipment.failed on their own: wait for both.
    await waitFor('the refund at the provider', async () => {
      const ledger = await shop.providerLedger(placed.order_id);
      return ledger.captured === order.total_minor && ledger.net === 0;
    });
    const payment = await shop.payment(placed.order_id);
    expect(payment).toMatchObject({ status: 'refunded' });
    expect(Number(payment?.refundedMinor)).toBe(order.total_minor);
    await waitFor('the stock back on the shelf', async () => {
      const now = await shop.available('KIT-0001');
      return now.available === before.available && now.reserved === before.reserved;
    });
    const mails = await mailsAbout(placed.order_id, [
      'order.confirmed',
      'order.cancelled',
      'payment.refunded',
    ]);
    expect(mails.get('order.cancelled')?.text).toContain('the carrier could not deliver it');
    expect(mails.has('shipment.dispatched')).toBe(false);
  });

  it('the carrier loses the parcel after dispatch: shipped, then cancelled with parcel_lost, refunded, restocked', async () => {
    await shop.carrierKnobs({ lost_rate: 1 });
    const before = await shop.available('APP-0001');
    const placed = await place('APP-0001', 1);
    const order = await until(placed.order_id, ['cancelled']);
    expect(order).toMatchObject({ reason: 'shipping_failed', reason_detail: 'parcel_lost' });
    expect(await eventTypes(placed.order_id)).toContain('OrderShipped');
    expect((await shop.shipment(token, placed.order_id)).body).toMatchObject({
      status: 'failed',
      reason: 'parcel_lost',
    });
    await waitFor('the refund and the stock back', async () => {
      const ledger = await shop.providerLedger(placed.order_id);
      const stock = await shop.available('APP-0001');
      return ledger.net === 0 && ledger.captured > 0 && stock.available === before.available;
    });
  });

  it('a confirmed order cancelled before its parcel leaves: held, never handed to the carrier, refunded, restocked', async () => {
    // The carrier is down, so the parcel waits in the warehouse while the customer cancels.
    await shop.carrierKnobs({ outage: true });
    const before = await shop.available('ELE-0001');
    const placed = await place('ELE-0001', 1);
    await until(placed.order_id, ['confirmed']);
    const cancel = await fetch(`${gateway}/api/orders/${placed.order_id}/cancel`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(cancel.status).toBe(202);
    const order = await until(placed.order_id, ['cancelled']);
    expect(order.reason).toBe('customer_request');

    // The carrier comes back: the cancelled order's parcel must still never be handed over.
    await shop.carrierKnobs({ outage: false });
    await sleep(2_000);
    expect(await shop.carrierParcels(placed.order_id)).toEqual([]);
    expect((await shop.shipment(token, placed.order_id)).body).toMatchObject({ status: 'cancelled' });
    expect(await shop.providerLedger(placed.order_id)).toMatchObject({ net: 0 });
    expect(await shop.available('ELE-0001')).toEqual(before);
  });

  it('a shipped order cannot be cancelled, and another customer cannot see its parcel', async () => {
    await shop.carrierKnobs({ lost_rate: 0 });
    const placed = await place('BOK-0003', 1);
    await until(placed.order_id, ['shipped', 'delivered']);
    const cancel = await fetch(`${gateway}/api/orders/${placed.order_id}/cancel`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(cancel.status).toBe(409);
    expect(cancel.headers.get('content-type')).toContain('application/problem+json');

    const stranger = await shop.customer('fulfillment-stranger@mercato.test');
    expect((await shop.shipment(stranger, placed.order_id)).status).toBe(404);
    expect((await shop.shipment(token, 'ord_does_not_exist')).status).toBe(404);
  });
});
