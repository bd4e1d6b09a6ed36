import { createHash } from 'node:crypto';

export interface OrderFacts {
  orderId: string;
  lines: { sku: string; quantity: number; unitPriceMinor: number }[];
  totalMinor: number;
  currency: string;
}

/** What a customer is told about, with what the mail needs to say it. */
export type News =
  | { kind: 'order.confirmed'; order: OrderFacts }
  | { kind: 'shipment.dispatched'; order: OrderFacts; trackingNumber: string }
  | { kind: 'shipment.delivered'; order: OrderFacts }
  | { kind: 'order.cancelled'; order: OrderFacts; reason: string }
  | { kind: 'payment.refunded'; order: OrderFacts; amountMinor: number }
  | { kind: 'notification.request'; subject: string; text: string };

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

/**
 * A mail's Message-ID from the event it tells of and its recipient: a repeat of the same mail (sent
 * again after a crash) carries the same id, so a mail client or an audit can tell it is the same.
 */
export function messageIdFor(eventId: string, recipient: string): string {
  const digest = createHash('sha256').update(`${eventId}\n${recipient.toLowerCase()}`).digest('hex');
  return `<${digest.slice(0, 32)}@notification.mercato>`;
}

export const money = (minor: number, currency: string): string => `${currency} ${(minor / 100).toFixed(2)}`;

const escapeHtml = (value: string): string =>
  value.replace(/[&<>"']/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": '#39' }[c]};`);

const reasons: Record<string, string> = {
  customer_request: 'you asked us to cancel it',
  stock_unavailable: 'an item was out of stock',
  payment_declined: 'the payment was declined',
  shipping_failed: 'the carrier could not deliver it',
  step_timed_out: 'we could not complete it in time',
  step_failed: 'we could not complete it',
};

function orderLines(order: OrderFacts): { text: string; html: string } {
  const rows = order.lines.map((line) => ({
    sku: line.sku,
    quantity: line.quantity,
    price: money(line.unitPriceMinor * line.quantity, order.currency),
  }));
  const total = money(order.totalMinor, order.currency);
  return {
    text: [...rows.map((row) => `  ${row.quantity} × ${row.sku}  ${row.price}`), `  Total  ${total}`].join(
      '\n',
    ),
    html:
      `<table>${rows
        .map(
          (row) =>
            `<tr><td>${row.quantity} × ${escapeHtml(row.sku)}</td><td align="right">${escapeHtml(row.price)}</td></tr>`,
        )
        .join('')}` +
      `<tr><th align="left">Total</th><th align="right">${escapeHtml(total)}</th></tr></table>`,
  };
}

/** The mail for a piece of news, in plain text and HTML. Pure: no clock, no I/O. */
export function renderMail(news: News, recipientName: string): RenderedMail {
  const hello = `Hello ${recipientName},`;
  if (news.kind === 'notification.request')
    return {
      subject: news.subject,
      text: `${hello}\n\n${news.text}\n`,
      html: `<p>${escapeHtml(hello)}</p><p>${escapeHtml(news.text)}</p>`,
    };
  const id = news.order.orderId;
  const lines = orderLines(news.order);
  const say = (subject: string, sentence: string, withLines = true): RenderedMail => ({
    subject,
    text: `${hello}\n\n${sentence}\n${withLines ? `\n${lines.text}\n` : ''}\nMercato\n`,
    html: `<p>${escapeHtml(hello)}</p><p>${escapeHtml(sentence)}</p>${withLines ? lines.html : ''}<p>Mercato</p>`,
  });
  switch (news.kind) {
    case 'order.confirmed':
      return say(`Your order ${id} is confirmed`, `Thank you: your order ${id} is confirmed and paid.`);
    case 'shipment.dispatched':
      return say(
        `Your order ${id} is on its way`,
        `Your order ${id} is with the carrier; its tracking number is ${news.trackingNumber}.`,
      );
    case 'shipment.delivered':
      return say(`Your order ${id} was delivered`, `Your order ${id} was delivered. Enjoy!`);
    case 'order.cancelled':
      return say(
        `Your order ${id} was cancelled`,
        `Your order ${id} was cancelled: ${reasons[news.reason] ?? news.reason}. Anything you paid is refunded.`,
      );
    case 'payment.refunded':
      return say(
        `Your refund for order ${id}`,
        `We refunded ${money(news.amountMinor, news.order.currency)} for your order ${id}.`,
        false,
      );
  }
}
