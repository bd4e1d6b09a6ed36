import { describe, expect, it } from 'vitest';
import { messageIdFor, renderMail } from './mail.ts';

const order = {
  orderId: 'ord_1',
  lines: [
    { sku: 'BOK-0001', quantity: 2, unitPriceMinor: 1900 },
    { sku: 'KIT-<b>', quantity: 1, unitPriceMinor: 500 },
  ],
  totalMinor: 4300,
  currency: 'EUR',
};

describe('mails', () => {
  it('tells of a confirmed order with its lines and total, in text and escaped HTML', () => {
    const mail = renderMail({ kind: 'order.confirmed', order }, 'Ada');
    expect(mail.subject).toBe('Your order ord_1 is confirmed');
    expect(mail.text).toContain('Hello Ada,');
    expect(mail.text).toContain('2 × BOK-0001  EUR 38.00');
    expect(mail.text).toContain('Total  EUR 43.00');
    expect(mail.html).toContain('KIT-&lt;b&gt;');
    expect(mail.html).not.toContain('KIT-<b>');
  });

  it('says why an order was cancelled, and the tracking number of a dispatched one', () => {
    expect(renderMail({ kind: 'order.cancelled', order, reason: 'shipping_failed' }, 'Ada').text).toContain(
      'the carrier could not deliver it',
    );
    expect(
      renderMail({ kind: 'shipment.dispatched', order, trackingNumber: 'TRK123' }, 'Ada').text,
    ).toContain('TRK123');
  });

  it('derives the same Message-ID for the same event and recipient, another for anything else', () => {
    const id = messageIdFor('evt_1', 'ada@example.com');
    expect(id).toMatch(/^<[0-9a-f]{32}@notification\.mercato>$/);
    expect(messageIdFor('evt_1', 'ADA@example.com')).toBe(id);
    expect(messageIdFor('evt_2', 'ada@example.com')).not.toBe(id);
    expect(messageIdFor('evt_1', 'bob@example.com')).not.toBe(id);
  });
});
