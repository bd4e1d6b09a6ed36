import type { Logger, Outbox, Transaction } from '@mercato/chassis';
import { createEnvelope, notificationSent } from '@mercato/contracts';
import { messageIdFor, type News, type OrderFacts, renderMail } from '../domain/mail.ts';
import type { Customers, Mailer, NotificationStore, OrderFactsSource } from './notification-ports.ts';

export interface NotifyDeps {
  customers: Customers;
  orders: OrderFactsSource;
  mailer: Mailer;
  store: NotificationStore;
  outbox: Outbox;
  logger: Logger;
}

/** What an event asks to tell: about an order (looked up), or a ready-made request. */
export type Tell =
  | { eventId: string; about: 'order'; orderId: string; news: (order: OrderFacts) => News }
  | { eventId: string; about: 'customer'; customerId: string; orderId?: string; news: News };

/** A dependency that cannot answer now: the event is retried later, nothing is lost. */
export class NotYetKnown extends Error {
  override name = 'NotYetKnown';
}

/**
 * Mails a customer about an event, once per (event, recipient): the recipient comes from the
 * customer service, the order's lines and total from the order service; the mail's Message-ID is
 * derived from the event and the recipient. SMTP has no idempotency: the mail is sent first and
 * recorded in the consuming transaction after the server accepted it, so a crash in between sends
 * it again (same Message-ID); a mail recorded is never sent again.
 */
export async function notify(
  deps: NotifyDeps,
  transaction: Transaction,
  tell: Tell,
  correlationId: string,
): Promise<void> {
  let customerId: string;
  let orderId: string | null = null;
  let news: News;
  if (tell.about === 'order') {
    const order = await deps.orders.factsOf(tell.orderId);
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
  if (await deps.store.wasSent(transaction, messageId)) return;
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
  await deps.store.record(transaction, {
    messageId,
    eventId: tell.eventId,
    kind: news.kind,
    customerId,
    orderId,
    recipient: contact.email,
    subject: mail.subject,
  });
  await deps.outbox.append(transaction, [
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
  deps.logger.info({ message_id: messageId, kind: news.kind, order_id: orderId }, 'mail sent');
}
