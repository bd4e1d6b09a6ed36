import { probePostgres, startTestService, suiteTitle, type TestService } from '@mercato/chassis/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProviderConfig } from '../src/config.ts';
import { providerDefinition } from '../src/provider.service.ts';

const postgres = await probePostgres();
const ADMIN = 'provider-test-admin-token-0123456789abcdef';

describe.skipIf(!postgres.available)(suiteTitle('the payment-provider simulator', postgres), () => {
  let provider: TestService<ProviderConfig>;
  const call = (method: string, route: string, body?: unknown, key?: string) =>
    fetch(`${provider.url}${route}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(key ? { 'idempotency-key': key } : {}),
        ...(route.startsWith('/admin') ? { authorization: `Bearer ${ADMIN}` } : {}),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const authorize = (key: string, amount = 1_000, orderId = 'ord_1') =>
    call('POST', '/v1/payment_intents', { amount, currency: 'eur', metadata: { order_id: orderId } }, key);

  beforeAll(async () => {
    provider = await startTestService(providerDefinition, { MERCATO_ADMIN_TOKEN: ADMIN });
  });
  afterAll(async () => {
    await provider?.stop();
  });

  it('replays the first answer to a key, refuses the key with another body, and requires one', async () => {
    const first = await authorize('key-a');
    expect(first.status).toBe(200);
    const intent = (await first.json()) as { id: string; status: string };
    expect(intent.status).toBe('requires_capture');
    const again = await authorize('key-a');
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(((await again.json()) as { id: string }).id).toBe(intent.id);
    const other = await authorize('key-a', 2_000);
    expect(other.status).toBe(400);
    expect(((await other.json()) as { error: { type: string } }).error.type).toBe('idempotency_error');
    expect(
      (await call('POST', '/v1/payment_intents', { amount: 1, currency: 'eur', metadata: { order_id: 'x' } }))
        .status,
    ).toBe(400);
    // Concurrent retries of one key charge once.
    const racing = await Promise.all(Array.from({ length: 8 }, () => authorize('key-race', 500, 'ord_race')));
    expect(
      new Set(await Promise.all(racing.map(async (r) => ((await r.json()) as { id: string }).id))).size,
    ).toBe(1);
    // The racers' own intents were rolled back with their work: the books hold one.
    const raced = (await (await call('GET', '/admin/ledger?order_id=ord_race')).json()) as {
      orders: Array<{ intents: number }>;
    };
    expect(raced.orders.map((order) => order.intents)).toEqual([1]);
  });

  it('captures, refunds only what is left, and keeps both sides in its books', async () => {
    const intent = (await (await authorize('key-b', 4_200, 'ord_b')).json()) as { id: string };
    const captured = await call('POST', `/v1/payment_intents/${intent.id}/capture`, undefined, 'cap-b');
    expect(((await captured.json()) as { amount_received: number }).amount_received).toBe(4_200);
    // A refund sent four times at once under one key: one refund, every sender answered with it.
    const refunds = await Promise.all(
      Array.from({ length: 4 }, () => call('POST', '/v1/refunds', { payment_intent: intent.id }, 'ref-b-1')),
    );
    expect(refunds.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(
      new Set(await Promise.all(refunds.map(async (r) => ((await r.json()) as { id: string }).id))).size,
    ).toBe(1);
    const twice = await call('POST', '/v1/refunds', { payment_intent: intent.id }, 'ref-b-2');
    expect(((await twice.json()) as { error: { code: string } }).error.code).toBe('charge_already_refunded');
    const ledger = (await (await call('GET', '/admin/ledger?order_id=ord_b')).json()) as {
      orders: unknown[];
    };
    expect(ledger.orders).toEqual([
      { order_id: 'ord_b', captured: 4_200, refunded: 4_200, net: 0, intents: 1 },
    ]);
  });

  it('declines, fails refunds, and goes down on its knobs (admin only)', async () => {
    expect((await fetch(`${provider.url}/admin/knobs`, { method: 'PUT' })).status).toBe(401);
    await call('PUT', '/admin/knobs', { decline_rate: 1 });
    const declined = await authorize('key-c', 100, 'ord_c');
    expect(declined.status).toBe(402);
    expect(((await declined.json()) as { error: { code: string } }).error.code).toBe('card_declined');
    await call('PUT', '/admin/knobs', { decline_rate: 0, outage: true });
    expect((await authorize('key-d', 100, 'ord_d')).status).toBe(503);
    await call('PUT', '/admin/knobs', { outage: false, refund_failure_rate: 1 });
    const intent = (await (await authorize('key-e', 300, 'ord_e')).json()) as { id: string };
    await call('POST', `/v1/payment_intents/${intent.id}/capture`, undefined, 'cap-e');
    expect((await call('POST', '/v1/refunds', { payment_intent: intent.id }, 'ref-e')).status).toBe(402);
    await call('PUT', '/admin/knobs', { refund_failure_rate: 0 });
  });
});
