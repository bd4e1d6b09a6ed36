import type { AddressInfo } from 'node:net';
import { create } from '@bufbuild/protobuf';
import {
  connectTestBus,
  openTransactionsIn,
  probePostgres,
  startGrpcStub,
  startTestService,
  suiteTitle,
  type TestBus,
  type TestService,
  waitFor,
} from '@mercato/chassis/testing';
import {
  createEnvelope,
  customerUpdated,
  type Envelope,
  NOTIFICATION_REQUESTS,
  notificationRequest,
  orderConfirmed,
  shipmentDispatched,
} from '@mercato/contracts';
import { CustomerSchema, CustomerService } from '@mercato/contracts/grpc/customer';
import { NotificationService } from '@mercato/contracts/grpc/notification';
import { OrderSchema, OrderService } from '@mercato/contracts/grpc/order';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NotificationConfig } from '../src/config.ts';
import { notificationDefinition } from '../src/notification.service.ts';

const postgres = await probePostgres();

interface Received {
  messageId: string | undefined;
  to: string[];
  subject: string;
  text: string;
  headers: Map<string, unknown>;
}

/** A receiving SMTP server in the test: what notification sent, as a mail client would see it. */
async function startSmtp(port = 0) {
  const received: Received[] = [];
  // Mails whose data arrived; the server answers them once `open` resolves (a slow server).
  const gate = { arriving: 0, open: Promise.resolve() };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      gate.arriving += 1;
      simpleParser(stream).then(async (mail) => {
        await gate.open;
        received.push({
          messageId: mail.messageId,
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          subject: mail.subject ?? '',
          text: mail.text ?? '',
          headers: mail.headers,
        });
        callback();
      }, callback);
    },
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.server.address() as AddressInfo;
  return {
    received,
    gate,
    port: address.port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * notification over real SMTP: an event mailed once with its lines and total and a Message-ID
 * derived from (event, recipient); a redelivered event not mailed again; a request on the work
 * queue mailed once per reference; an SMTP server that is down delays a mail, never loses it.
 */
describe.skipIf(!postgres.available)(suiteTitle('notification mails over SMTP', postgres), () => {
  let running: TestService<NotificationConfig>;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let stubs: Awaited<ReturnType<typeof startGrpcStub>>;
  let messageStore: TestBus;
  /** Who the customer service says each customer is, and how often it was asked. */
  const contacts: Record<string, string> = { cus_ada: 'ada@example.com' };
  const lookups: string[] = [];
  const orderLookups: string[] = [];

  const confirmed = (orderId: string, customerId = 'cus_ada') =>
    createEnvelope({
      contract: orderConfirmed,
      source: 'test',
      correlationId: 'corr_test',
      data: {
        order_id: orderId,
        customer_id: customerId,
        total_minor: 4300,
        currency: 'EUR',
        lines: [{ sku: 'BOK-0001', quantity: 2, unit_price_minor: 2150 }],
        shipping_address: '1 Test Road',
        reservation_id: `res_${orderId}`,
      },
    });
  const dispatched = (orderId: string, trackingNumber: string) =>
    createEnvelope({
      contract: shipmentDispatched,
      source: 'test',
      correlationId: 'corr_test',
      data: {
        shipment_id: `shp_${orderId}`,
        order_id: orderId,
        customer_id: 'cus_ada',
        carrier_shipment_id: `car_${orderId}`,
        tracking_number: trackingNumber,
      },
    });
  const publish = (envelope: Envelope, kind: 'topic' | 'queue' = 'topic') =>
    messageStore.bus.publish([
      {
        kind,
        destination: kind === 'topic' ? envelope.event_type : NOTIFICATION_REQUESTS,
        key: 'k',
        envelope,
      },
    ]);
  const mailsFor = (orderId: string) =>
    smtp.received.filter((mail) => mail.headers.get('x-mercato-order-id') === orderId);

  beforeAll(async () => {
    smtp = await startSmtp();
    stubs = await startGrpcStub((router) => {
      router.service(CustomerService, {
        getCustomer: (request) => {
          lookups.push(request.id);
          return {
            customer: create(CustomerSchema, {
              id: request.id,
              email: contacts[request.id] ?? '',
              name: 'Ada',
            }),
          };
        },
      });
      router.service(OrderService, {
        getOrder: (request) => {
          orderLookups.push(request.orderId);
          return {
            order: create(OrderSchema, {
              orderId: request.orderId,
              customerId: 'cus_ada',
              status: 'confirmed',
              lines: [{ sku: 'BOK-0001', quantity: 2, unitPriceMinor: 2150n }],
              totalMinor: 4300n,
              currency: 'EUR',
            }),
          };
        },
      });
    });
    running = await startTestService(notificationDefinition, {
      MERCATO_PEERS: `customer=${stubs.url},order=${stubs.url}`,
      SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
      NOTIFICATION_SMTP_TIMEOUT_MS: '1000',
    });
    messageStore = connectTestBus(running.messagesUrl);
  });
  afterAll(async () => {
    await messageStore?.close();
    await running?.stop();
    await stubs?.server.close(0);
    await smtp?.close();
  });

  it('mails a confirmed order once, with its lines, total and a Message-ID from (event, recipient)', async () => {
    const event = confirmed('ord_mail_1');
    await publish(event);
    await waitFor('the confirmation mail', async () => mailsFor('ord_mail_1').length === 1);
    const [mail] = mailsFor('ord_mail_1');
    expect(mail?.to).toEqual(['ada@example.com']);
    expect(mail?.subject).toBe('Your order ord_mail_1 is confirmed');
    expect(mail?.text).toContain('2 × BOK-0001  EUR 43.00');
    expect(mail?.messageId).toMatch(/^<[0-9a-f]{32}@notification\.mercato>$/);
    expect(mail?.headers.get('x-mercato-event-id')).toBe(event.event_id);
    // order.confirmed carries the lines and total: order was not asked.
    expect(orderLookups).not.toContain('ord_mail_1');

    // The same event published again: the bus' dedup and the inbox keep it from a second mail.
    await messageStore.bus.publish([
      { kind: 'topic', destination: `${event.event_type}`, key: 'other', envelope: event },
    ]);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(mailsFor('ord_mail_1')).toHaveLength(1);

    const { notifications } = await running
      .client(NotificationService)
      .listNotifications({ customerId: 'cus_ada', limit: 10 });
    expect(notifications.find((sent) => sent.orderId === 'ord_mail_1')).toMatchObject({
      kind: 'order.confirmed',
      recipient: 'ada@example.com',
      messageId: mail?.messageId,
      sends: 1,
    });
    // And told as notification.sent, in the transaction that recorded it.
    const { rows } = await messageStore.messages.query<{ data: Record<string, unknown> }>(
      `SELECT envelope->'data' AS data FROM bus_messages
        WHERE destination = 'notification.sent' AND envelope->'data'->>'order_id' = 'ord_mail_1'`,
    );
    expect(rows.map((row) => row.data)).toEqual([
      {
        message_id: mail?.messageId,
        event_id: event.event_id,
        kind: 'order.confirmed',
        customer_id: 'cus_ada',
        order_id: 'ord_mail_1',
      },
    ]);
  });

  it('asks order for the lines and total of an event that does not carry them, unless its confirmation did', async () => {
    await publish(dispatched('ord_ship_1', 'TRK-0001'));
    await waitFor('the dispatch mail', async () => mailsFor('ord_ship_1').length === 1);
    expect(mailsFor('ord_ship_1')[0]?.text).toContain('TRK-0001');
    expect(mailsFor('ord_ship_1')[0]?.text).toContain('2 × BOK-0001');
    expect(orderLookups).toContain('ord_ship_1');

    // An order whose confirmation carried its facts: its later mails use them, order is not asked.
    await publish(confirmed('ord_ship_2'));
    await waitFor('the confirmation', async () => mailsFor('ord_ship_2').length === 1);
    await publish(dispatched('ord_ship_2', 'TRK-0002'));
    await waitFor('the dispatch mail', async () => mailsFor('ord_ship_2').length === 2);
    expect(mailsFor('ord_ship_2')[1]?.text).toContain('2 × BOK-0001');
    expect(orderLookups).not.toContain('ord_ship_2');
  });

  it('mails a request from the work queue once per reference', async () => {
    const request = (reference: string) =>
      createEnvelope({
        contract: notificationRequest,
        source: 'test',
        correlationId: 'corr_test',
        data: {
          customer_id: 'cus_ada',
          reference,
          subject: 'Your invoice',
          text: 'Attached in spirit.',
          order_id: 'ord_request',
        },
      });
    // Two messages (two event ids) with one reference: the same mail.
    await publish(request('invoice-1'), 'queue');
    await publish(request('invoice-1'), 'queue');
    await publish(request('invoice-2'), 'queue');
    await waitFor('both requested mails', async () => mailsFor('ord_request').length >= 2);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(mailsFor('ord_request').map((mail) => mail.subject)).toEqual(['Your invoice', 'Your invoice']);
    expect(new Set(mailsFor('ord_request').map((mail) => mail.messageId)).size).toBe(2);
  });

  it('sends with no transaction open: while the SMTP server is slow to accept, nothing is held', async () => {
    let release: () => void = () => undefined;
    smtp.gate.open = new Promise<void>((resolve) => (release = resolve));
    const before = smtp.gate.arriving;
    await publish(
      createEnvelope({
        contract: notificationRequest,
        source: 'test',
        correlationId: 'corr_test',
        data: {
          customer_id: 'cus_ada',
          reference: 'slow-1',
          subject: 'Slow',
          text: 'Slow.',
          order_id: 'ord_slow',
        },
      }),
      'queue',
    );
    await waitFor('the mail to reach the server', () => smtp.gate.arriving > before);
    // Within the client's 1 s socket timeout, but long enough for a held transaction to show.
    await new Promise((resolve) => setTimeout(resolve, 400));
    const open = await openTransactionsIn(running.databaseUrl);
    release();
    smtp.gate.open = Promise.resolve();
    expect(open).toEqual([]);
    await waitFor('the slow mail', async () => mailsFor('ord_slow').length === 1);
  });

  it('keeps a mail while the SMTP server is down and sends it once the server is back', async () => {
    const port = smtp.port;
    const before = smtp.received;
    await smtp.close();
    await publish(confirmed('ord_mail_down'));
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    smtp = await startSmtp(port);
    await waitFor(
      'the mail once the server is back',
      async () => mailsFor('ord_mail_down').length === 1,
      30_000,
    );
    expect(before.some((mail) => mail.headers.get('x-mercato-order-id') === 'ord_mail_down')).toBe(false);
  });

  it('asks customer for a contact once, and again once customer.updated says it changed', async () => {
    contacts.cus_moved = 'old@example.com';
    for (const id of ['ord_moved_1', 'ord_moved_2']) {
      await publish(confirmed(id, 'cus_moved'));
      await waitFor(`${id}'s mail`, async () => mailsFor(id)[0]?.to?.[0] === 'old@example.com');
    }
    expect(lookups.filter((id) => id === 'cus_moved')).toHaveLength(1);

    contacts.cus_moved = 'new@example.com';
    await publish(
      createEnvelope({
        contract: customerUpdated,
        source: 'customer',
        correlationId: 'corr_test',
        data: {
          customer_id: 'cus_moved',
          name: 'Ada',
          segment: 'standard',
          preferences: { marketing_emails: false, language: 'en', currency: 'EUR' },
        },
      }),
    );
    // The change and the next order are separate deliveries: the mail may go out before the change
    // is consumed, to the address it had then; once consumed, the next goes to the new one.
    await waitFor('the change consumed', async () => {
      const id = `ord_moved_${lookups.length}_${Date.now()}`;
      await publish(confirmed(id, 'cus_moved'));
      await waitFor('its mail', async () => mailsFor(id).length === 1);
      return mailsFor(id)[0]?.to?.[0] === 'new@example.com';
    });
    expect(lookups.filter((id) => id === 'cus_moved')).toHaveLength(2);
  });
});
