import type { Intent, Logger, Outbox, OutcomeStep } from '@mercato/chassis';
import { createEnvelope, notificationSent } from '@mercato/contracts';
import { messageIdFor, type News, type OrderFacts, renderMail } from '../domain/mail.ts';
import type {
  CustomerOrderFacts,
  Customers,
  Mailer,
  NotificationStore,
  OrderFactsSource,
} from './notification-ports.ts';

export interface NotifyDeps {
  customers: Customers;
  orders: OrderFactsSource;
  mailer: Mailer;
  store: NotificationStore;
  outbox: Outbox;
  logger: Logger;
}

/**
 * What an event asks to tell: about an order (looked up, unless the event carries its facts), or a
 * ready-made request.
 */
export type Tell =
  | {
      eventId: string;
      about: 'order';
      orderId: string;
      facts?: CustomerOrderFacts;
      news: (order: OrderFacts) => News;
    }
  | { eventId: string; about: 'customer'; customerId: string; orderId?: string; news: News };

/** A dependency that cannot answer now: the event is retried later, nothing is lost. */
export class NotYetKnown extends Error {
  override name = 'NotYetKnown';
}

/** What every send about an event is about: redeliveries of it never send at once. */
export const notifySubject = (tell: Tell): string => `notify:${tell.eventId}`;

/**
 * Mails a customer about an event, once per (event, recipient): the recipient comes from the
 * customer service, the order's lines and total from the event when it carries them
 * (`order.confirmed`), else from the order service; the mail's Message-ID is
 * derived from the event and the recipient. Claim, call, record: the lookups (gRPC) and the send
 * (SMTP) run with no transaction open, and the mail is recorded in a transaction of its own after
 * the server accepted it. SMTP has no idempotency, so a crash in between sends it again (same
 * Message-ID); a mail recorded is never sent again.
 */
export function notify(deps: NotifyDeps, tell: Tell, correlationId: string): Intent<void> {
  return { call: () => send(deps, tell, correlationId) };
}

/** Step 2: look up, send; returns step 3 (recording the mail), or nothing to do if it was sent. */
async function send(deps: NotifyDeps, tell: Tell, correlationId: string): Promise<OutcomeStep<void>> {
  let customerId: string;
  let orderId: string | null = null;
  let news: News;
  if (tell.about === 'order') {
    if (tell.facts) deps.orders.learned?.(tell.facts);
    const order = tell.facts ?? (await deps.orders.factsOf(tell.orderId));
    if (!order) throw new NotYetKnown(`order ${tell.orderId} is not known to the order service`);
    customerId = order.customerId;
    orderId = order.orderId;
    news = tell.news(order);
  } else {
    customerId = tell.customerId;
    orderId = tell.orderId ?? null;
    news = tell.news;
  }
  const contact = await deps.customers.contactOf(customerId);
  if (!contact) throw new NotYetKnown(`customer ${customerId} is not known to the customer service`);
  const messageId = messageIdFor(tell.eventId, contact.email);
  if (await deps.store.wasSent(messageId)) return async () => undefined;
  const mail = renderMail(news, contact.name);
  await deps.mailer.send({
    messageId,
    to: contact.email,
    ...mail,
    headers: {
      'X-Mercato-Event-Id': tell.eventId,
      'X-Mercato-Kind': news.kind,
      ...(orderId ? { 'X-Mercato-Order-Id': orderId } : {}),
    },
  });
  return async (recording) => {
    await deps.store.record(recording, {
      messageId,
      eventId: tell.eventId,
      kind: news.kind,
      customerId,
      orderId,
      recipient: contact.email,
      subject: mail.subject,
    });
    await deps.outbox.append(recording, [
      {
        kind: 'topic',
        destination: notificationSent.type,
        key: customerId,
        envelope: createEnvelope({
          contract: notificationSent,
          source: 'notification',
          correlationId,
          data: {
            message_id: messageId,
            event_id: tell.eventId,
            kind: news.kind,
            customer_id: customerId,
            order_id: orderId,
          },
        }),
      },
    ]);
    // One a mail: debug, not info (the notifications table and notification.sent record every mail).
    deps.logger.debug({ message_id: messageId, kind: news.kind, order_id: orderId }, 'mail sent');
  };
}
