import { Code, ConnectError } from '@connectrpc/connect';
import { createLogger, createPool, inTransaction, type Pool } from '@mercato/chassis';
import {
  connectTestBus,
  probePostgres,
  startTestService,
  suiteTitle,
  type TestService,
  waitFor,
} from '@mercato/chassis/testing';
import { createEnvelope, productCreated } from '@mercato/contracts';
import { PricingService } from '@mercato/contracts/grpc/pricing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PricingConfig } from '../src/config.ts';
import { pricingDefinition } from '../src/pricing.service.ts';

const postgres = await probePostgres();
const logger = createLogger({ service: 'test', level: 'silent' });
const ADMIN = 'pricing-admin-token-for-tests-0123456789';

describe.skipIf(!postgres.available)(suiteTitle('pricing service', postgres), () => {
  let running: TestService<PricingConfig>;
  let db: Pool;
  const client = () => running.client(PricingService);

  beforeAll(async () => {
    // No customer service listens at this address, so a quote for a customer must degrade.
    // The member discount through the real customer service is covered end to end in e2e/.
    running = await startTestService(pricingDefinition, {
      MERCATO_PEERS: 'customer=http://127.0.0.1:1',
      MERCATO_ADMIN_TOKEN: ADMIN,
      RPC_RETRY_ATTEMPTS: '1',
      RPC_TIMEOUT_MS: '300',
    });
    db = createPool({ url: running.databaseUrl, max: 2, applicationName: 'test' }, logger);
  });
  afterAll(async () => {
    await db?.end();
    await running?.stop();
  });

  it('quotes demo SKUs with category discounts in integer minor units', async () => {
    const quote = await client().calculateQuote({
      items: [
        { sku: 'BOK-0001', quantity: 3 },
        { sku: 'OUT-0001', quantity: 1 },
      ],
    });
    expect(quote.currency).toBe('EUR');
    // Categories arrive from catalog's product.created; until then only SKU-wide discounts apply.
    expect(quote.subtotalMinor).toBe(3n * 1_900n + 12_900n);
    expect(quote.totalMinor).toBe(quote.subtotalMinor - quote.discountMinor);
    expect(quote.customerSegment).toBe('');
  });

  it('learns categories from product.created and applies their discounts', async () => {
    const { bus, close } = connectTestBus(running.messagesUrl);
    for (const [sku, category] of [
      ['BOK-0001', 'books'],
      ['OUT-0001', 'outdoor'],
    ] as const) {
      const envelope = createEnvelope({
        contract: productCreated,
        source: 'catalog',
        correlationId: 'corr_test',
        data: { product_id: `prod_${sku}`, sku, name: sku, category },
      });
      await bus.publish([
        { kind: 'topic', destination: productCreated.type, key: envelope.data.product_id, envelope },
      ]);
    }
    await close();
    await waitFor('categories recorded', async () => {
      const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM products');
      return rows[0]?.n === 2;
    });
    const quote = await client().calculateQuote({
      items: [
        { sku: 'BOK-0001', quantity: 3 },
        { sku: 'OUT-0001', quantity: 1 },
      ],
    });
    expect(quote.lines.map((line) => line.discounts[0]?.discountId)).toEqual([
      'disc-books-3for2',
      'disc-outdoor-10',
    ]);
    expect(quote.discountMinor).toBe(1_900n + 1_290n);
  });

  it('still quotes when the customer service is down, and says the segment was unavailable', async () => {
    const quote = await client().calculateQuote({
      items: [{ sku: 'ELE-0011', quantity: 1 }],
      customerId: 'usr_1',
    });
    expect(quote.segmentUnavailable).toBe(true);
    expect(quote.lines[0]?.discounts.map((d) => d.discountId)).toEqual(['disc-charger-5']);
  });

  it('rejects unpriced SKUs and bad quantities with INVALID_ARGUMENT', async () => {
    const unpriced = await client()
      .calculateQuote({ items: [{ sku: 'NOPE-0001', quantity: 1 }] })
      .catch((error: unknown) => ConnectError.from(error));
    expect(unpriced).toMatchObject({ code: Code.InvalidArgument });
    expect((unpriced as ConnectError).metadata.get('mercato-error-code')).toBe('PRICING.UNPRICED_SKU');
    const bad = await client()
      .calculateQuote({ items: [{ sku: 'BOK-0001', quantity: 0 }] })
      .catch((error: unknown) => ConnectError.from(error));
    expect((bad as ConnectError).rawMessage).toMatch(/items\.0\.quantity/);
  });

  it('keeps prices positive in the database', async () => {
    await expect(
      inTransaction(db, (client) =>
        client.query("UPDATE prices SET amount_minor = 0 WHERE sku = 'BOK-0001'"),
      ),
    ).rejects.toThrow(/check constraint/);
  });

  it('prices in shadow by default: the rewritten engine runs beside v1, its differences at /admin/experiments', async () => {
    await client().calculateQuote({ items: [{ sku: 'BOK-0001', quantity: 3 }], customerId: 'usr_2' });
    const read = (authorization?: string) =>
      fetch(`${running.url}/admin/experiments?limit=5`, authorization ? { headers: { authorization } } : {});
    expect((await read()).status).toBe(401);
    const answer = await read(`Bearer ${ADMIN}`);
    expect(answer.status).toBe(200);
    const { experiments } = (await answer.json()) as { experiments: Array<Record<string, unknown>> };
    expect(experiments).toHaveLength(1);
    expect(experiments[0]).toMatchObject({
      name: 'discount-engine',
      mode: 'shadow',
      mismatches: 0,
      candidate_errors: 0,
      recent: [],
    });
    expect(Number(experiments[0]?.compared)).toBeGreaterThan(0);
  });
});
