import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { createEnvelope } from './create-envelope.ts';
import { productCreated } from './events/catalog-events.ts';
import { defineCommand, defineEvent } from './message-contract.ts';
import { MessageRegistry } from './message-registry.ts';

// A type with history: 1.0 had `amount` as a float, 1.1 added currency, 2.0 moved to minor units.
const paymentTaken = defineEvent({
  type: 'payment.taken',
  version: '2.0',
  schema: z.object({ amount_minor: z.number().int(), currency: z.string().length(3) }),
  upcasters: [
    { from: '1.0', to: '1.1', upcast: (data) => ({ ...data, currency: 'EUR' }) },
    {
      from: '1.1',
      to: '2.0',
      upcast: ({ amount, ...rest }) => ({ ...rest, amount_minor: Math.round(Number(amount) * 100) }),
    },
  ],
});
const reserveStock = defineCommand({
  type: 'inventory.reserve',
  version: '1.0',
  schema: z.object({ sku: z.string() }),
});

const registry = new MessageRegistry([productCreated, paymentTaken, reserveStock]);
const base = { source: 'test', correlationId: 'corr_1' };

describe('MessageRegistry', () => {
  it('accepts a well-formed message at the current version', () => {
    const envelope = createEnvelope({
      ...base,
      contract: productCreated,
      data: { product_id: 'prd_1', sku: 'KIT-1', name: 'Pan', category: 'kitchen' },
    });
    expect(envelope.event_id).toMatch(/^evt_[0-9A-Z]{26}$/);
    expect(registry.checkOutgoing(envelope)).toEqual({ ok: true, envelope });
    expect(createEnvelope({ ...base, contract: reserveStock, data: { sku: 'x' } }).event_id).toMatch(/^cmd_/);
  });

  it('refuses to publish invalid data, unknown types and old versions', () => {
    const good = createEnvelope({
      ...base,
      contract: paymentTaken,
      data: { amount_minor: 100, currency: 'EUR' },
    });
    expect(registry.checkOutgoing({ ...good, data: { amount_minor: 1.5, currency: 'EUR' } })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('invalid payment.taken data: amount_minor'),
    });
    expect(registry.checkOutgoing({ ...good, event_type: 'payment.lost' })).toMatchObject({
      ok: false,
      reason: 'unknown message type payment.lost',
    });
    expect(registry.checkOutgoing({ ...good, event_version: '1.1' })).toMatchObject({ ok: false });
    expect(registry.checkOutgoing({ ...good, timestamp: 'yesterday' })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('invalid envelope: timestamp'),
    });
  });

  it('upcasts an old version through every step to the current one', () => {
    const old = {
      ...createEnvelope({ ...base, contract: paymentTaken, data: { amount_minor: 0, currency: 'EUR' } }),
      event_version: '1.0',
      data: { amount: 12.34 },
    };
    const read = registry.readIncoming(old);
    expect(read).toMatchObject({
      ok: true,
      envelope: { event_version: '2.0', data: { amount_minor: 1234, currency: 'EUR' } },
    });
  });

  it('rejects what it cannot read, with the reason', () => {
    const envelope = createEnvelope({
      ...base,
      contract: paymentTaken,
      data: { amount_minor: 1, currency: 'EUR' },
    });
    expect(registry.readIncoming({ ...envelope, event_version: '0.9' })).toEqual({
      ok: false,
      reason: 'no upcaster from payment.taken 0.9 to 2.0',
    });
    expect(registry.readIncoming({ ...envelope, data: { amount_minor: 'lots' } })).toMatchObject({
      ok: false,
    });
    expect(registry.readIncoming('not an envelope')).toMatchObject({ ok: false });
  });

  it('reads a newer minor version of its major as its own (a producer released first), not a newer major', () => {
    const envelope = createEnvelope({
      ...base,
      contract: paymentTaken,
      data: { amount_minor: 1, currency: 'EUR' },
    });
    // 2.1 added a field this consumer does not know: read, the field dropped.
    expect(
      registry.readIncoming({
        ...envelope,
        event_version: '2.1',
        data: { amount_minor: 1, currency: 'EUR', note: 'x' },
      }),
    ).toMatchObject({
      ok: true,
      envelope: { event_version: '2.0', data: { amount_minor: 1, currency: 'EUR' } },
    });
    expect(registry.readIncoming({ ...envelope, event_version: '3.0' })).toEqual({
      ok: false,
      reason: 'payment.taken 3.0 is a newer major version than this consumer reads (2.0)',
    });
  });
});
