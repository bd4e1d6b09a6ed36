import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  connectTestBus,
  openTransactionsIn,
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
  FULFILLMENT_COMMANDS,
  holdShipment,
  type MessageContract,
  orderConfirmed,
  releaseShipment,
} from '@mercato/contracts';
import { FulfillmentService } from '@mercato/contracts/grpc/fulfillment';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FulfillmentConfig } from '../src/config.ts';
import { fulfillmentDefinition } from '../src/fulfillment.service.ts';

const postgres = await probePostgres();

/** Parcels whose reference starts so are delivered this long after the hand-over, as estimated. */
const ESTIMATED = { prefix: 'ord_eta', afterMs: 800 };

/**
 * A carrier that takes every parcel and delivers it at once, remembering what it was handed and how
 * often each parcel was tracked; parcels of ESTIMATED are delivered later, at the time it estimated.
 */
async function startCarrier() {
  const handed: { reference: string; key: string }[] = [];
  const tracked = new Map<string, number>();
  const estimates = new Map<string, Date>();
  const gate = { arrived: 0, open: Promise.resolve() };
  const server: Server = createServer((request, response) => {
    let body = '';
    if (request.method === 'POST') gate.arrived += 1;
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on('end', async () => {
      if (request.method === 'POST') await gate.open;
      response.setHeader('content-type', 'application/json');
      if (request.method === 'POST') {
        const { reference } = JSON.parse(body) as { reference: string };
        handed.push({ reference, key: String(request.headers['idempotency-key']) });
        const id = `cs_${reference}`;
        if (reference.startsWith(ESTIMATED.prefix))
          estimates.set(id, new Date(Date.now() + ESTIMATED.afterMs));
        response.statusCode = 201;
        response.end(
          JSON.stringify({
            id,
            status: 'in_transit',
            tracking_number: 'TRK1',
            estimated_delivery: estimates.get(id)?.toISOString() ?? null,
          }),
        );
        return;
      }
      const id = decodeURIComponent(request.url?.split('/').at(-1) ?? '');
      tracked.set(id, (tracked.get(id) ?? 0) + 1);
      const estimate = estimates.get(id);
      if (estimate && estimate.getTime() > Date.now()) {
        response.end(JSON.stringify({ status: 'in_transit', estimated_delivery: estimate.toISOString() }));
        return;
      }
      response.end(JSON.stringify({ status: 'delivered', delivered_at: new Date().toISOString() }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    handed,
    /** Tracking calls by the carrier's shipment id. */
    tracked,
    gate,
    /** Hand-overs wait until the returned function is called, as a slow carrier's. */
    hold(): () => void {
      let release: () => void = () => undefined;
      gate.open = new Promise<void>((resolve) => (release = resolve));
      return () => {
        release();
        gate.open = Promise.resolve();
      };
    },
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/**
 * fulfillment as the cancel saga's participant, including the order it has not heard of yet: a
 * hold that arrives before order.confirmed leaves a tombstone, so the late confirmation ships
 * nothing until the hold is released.
 */
describe.skipIf(!postgres.available)(
  suiteTitle('fulfillment holds and releases over the bus', postgres),
  () => {
    let running: TestService<FulfillmentConfig>;
    let carrier: Awaited<ReturnType<typeof startCarrier>>;
    let messageStore: TestBus;
    let sent = 0;

    const publish = (kind: 'topic' | 'queue', destination: string, envelope: Envelope) =>
      messageStore.bus.publish([{ kind, destination, key: 'k', envelope }]);
    const command = async (contract: MessageContract, orderId: string) => {
      const requestId = `saga-${orderId}:${++sent}`;
      await publish(
        'queue',
        FULFILLMENT_COMMANDS,
        createEnvelope({
          contract,
          source: 'test',
          correlationId: 'corr_test',
          data: {
            order_id: orderId,
            ...(contract === holdShipment ? { reason: 'customer_request' } : {}),
            saga: {
              saga_id: `saga-${orderId}`,
              request_id: requestId,
              idempotency_key: requestId,
              reply_to: 'test.replies',
            },
          },
        }),
      );
      let reply: { success: boolean; reason?: string } | undefined;
      await waitFor(`the reply to ${requestId}`, async () => {
        const { rows } = await messageStore.messages.query<{ envelope: { data: typeof reply } }>(
          `SELECT envelope FROM bus_messages WHERE destination = 'test.replies' AND envelope->'data'->>'request_id' = $1`,
          [requestId],
        );
        reply = rows[0]?.envelope.data;
        return reply !== undefined;
      });
      return reply;
    };
    const confirm = (orderId: string) =>
      publish(
        'topic',
        orderConfirmed.type,
        createEnvelope({
          contract: orderConfirmed,
          source: 'test',
          correlationId: 'corr_test',
          data: {
            order_id: orderId,
            customer_id: 'cus_1',
            total_minor: 1900,
            currency: 'EUR',
            lines: [{ sku: 'BOK-0001', quantity: 1, unit_price_minor: 1900 }],
            shipping_address: '1 Test Road',
            reservation_id: `res_${orderId}`,
          },
        }),
      );
    const status = async (orderId: string) =>
      (await running.client(FulfillmentService).getShipment({ orderId })).shipment?.status;

    beforeAll(async () => {
      carrier = await startCarrier();
      running = await startTestService(fulfillmentDefinition, {
        CARRIER_URL: carrier.url,
        FULFILLMENT_POLL_INTERVAL_MS: '50',
        FULFILLMENT_TRACK_EVERY_MS: '50',
      });
      messageStore = connectTestBus(running.messagesUrl);
    });
    afterAll(async () => {
      await messageStore?.close();
      await running?.stop();
      await carrier?.close();
    });

    it('ships a confirmed order once, with the shipment id as the idempotency key', async () => {
      await confirm('ord_ship');
      await waitFor(
        'delivered',
        async () => (await status('ord_ship').catch(() => undefined)) === 'delivered',
      );
      expect(carrier.handed.filter((parcel) => parcel.reference === 'ord_ship')).toHaveLength(1);
      const shipment = (await running.client(FulfillmentService).getShipment({ orderId: 'ord_ship' }))
        .shipment;
      expect(carrier.handed.find((parcel) => parcel.reference === 'ord_ship')?.key).toBe(
        shipment?.shipmentId,
      );
    });

    it('tracks a parcel from its estimated delivery on, not every interval before it', async () => {
      const orderId = `${ESTIMATED.prefix}_1`;
      const confirmed = Date.now();
      await confirm(orderId);
      await waitFor('delivered', async () => (await status(orderId).catch(() => undefined)) === 'delivered');
      expect(Date.now() - confirmed).toBeGreaterThanOrEqual(ESTIMATED.afterMs);
      // Tracked every 50 ms (FULFILLMENT_TRACK_EVERY_MS), the 800 ms in transit would take about 16
      // calls; from the estimate on, one (two if the first came a moment before the carrier's clock).
      expect(carrier.tracked.get(`cs_${orderId}`)).toBeGreaterThanOrEqual(1);
      expect(carrier.tracked.get(`cs_${orderId}`)).toBeLessThanOrEqual(2);
    });

    it('holds an order it has not heard of: the late confirmation ships nothing until the hold is released', async () => {
      expect(await command(holdShipment, 'ord_early')).toMatchObject({ success: true });
      await confirm('ord_early');
      await waitFor(
        'the confirmation taken in',
        async () => (await status('ord_early').catch(() => undefined)) === 'held',
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(carrier.handed.some((parcel) => parcel.reference === 'ord_early')).toBe(false);

      expect(await command(releaseShipment, 'ord_early')).toMatchObject({ success: true });
      await waitFor('shipped after the release', async () => (await status('ord_early')) === 'delivered');
      expect(carrier.handed.filter((parcel) => parcel.reference === 'ord_early')).toHaveLength(1);
    });

    it('hands a parcel over with no transaction open; a hold meanwhile waits for the carrier’s answer', async () => {
      const release = carrier.hold();
      const before = carrier.gate.arrived;
      await confirm('ord_slow');
      await waitFor('the hand-over to reach the carrier', () => carrier.gate.arrived > before);
      await new Promise((resolve) => setTimeout(resolve, 500));
      // Nothing open in fulfillment's database while the carrier thinks: no row lock, no connection.
      expect(await openTransactionsIn(running.databaseUrl)).toEqual([]);
      expect(await status('ord_slow')).toBe('packed');
      const hold = command(holdShipment, 'ord_slow');
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(await openTransactionsIn(running.databaseUrl)).toEqual([]);
      release();
      // The parcel left: the hold, decided after the carrier's answer, is refused rather than lost.
      expect(await hold).toMatchObject({ success: false, reason: 'already_dispatched' });
      expect(carrier.handed.filter((parcel) => parcel.reference === 'ord_slow')).toHaveLength(1);
    });

    it('refuses to hold a parcel that is with the carrier', async () => {
      expect(await command(holdShipment, 'ord_ship')).toMatchObject({
        success: false,
        reason: 'already_dispatched',
      });
    });
  },
);
