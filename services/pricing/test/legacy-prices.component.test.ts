import type { Pool } from '@mercato/chassis';
import {
  connectTestBus,
  grpcFailure,
  probePostgres,
  startTestService,
  suiteTitle,
  type TestBus,
  type TestService,
  waitFor,
  waitForHandled,
} from '@mercato/chassis/testing';
import { PricingService } from '@mercato/contracts/grpc/pricing';
import {
  legacyTransaction,
  SNAPSHOT_SOURCE,
  seededMonolith,
  snapshotOf,
  streamSource,
} from '@mercato/contracts/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PricingConfig } from '../src/config.ts';
import { pricingDefinition } from '../src/pricing.service.ts';

const postgres = await probePostgres();
const monolith = seededMonolith(0);
const SNAPSHOT = SNAPSHOT_SOURCE;
const at = streamSource;
const product = (id: number, changes: Partial<{ sku: string; price_cents: number }> = {}) => ({
  ...(monolith.products[id - 1] as (typeof monolith.products)[number]),
  ...changes,
});

/**
 * pricing taking over the monolith's list prices (strangler fig): each product's price under its
 * SKU in the currency the monolith priced in, later changes in log order, a SKU that moves taking
 * its price along.
 */
describe.skipIf(!postgres.available)(suiteTitle('pricing takes over the monolith’s prices', postgres), () => {
  let running: TestService<PricingConfig>;
  let store: TestBus;
  const client = () => running.client(PricingService);
  const priceOf = async (sku: string) => {
    const quote = await client().calculateQuote({ items: [{ sku, quantity: 2 }] });
    return { each: Number(quote.subtotalMinor) / 2, currency: quote.currency };
  };

  beforeAll(async () => {
    running = await startTestService(pricingDefinition, {
      PRICING_SEED_DEMO: 'false',
      PRICING_LEGACY_CURRENCY: 'GBP',
      MERCATO_PEERS: 'customer=http://127.0.0.1:1',
    });
    store = connectTestBus(running.messagesUrl);
  });
  afterAll(async () => {
    await store?.close();
    await running?.stop();
  });

  it('prices every product of the snapshot in the monolith’s currency', async () => {
    await store.bus.publish(snapshotOf(monolith, SNAPSHOT));
    await waitFor(
      'the last product priced',
      async () => (await grpcFailure(priceOf('LEG-0200'))) === undefined,
    );
    expect(await priceOf('LEG-0007')).toEqual({ each: product(7).price_cents, currency: 'GBP' });
  });

  it('follows a price change, ignores an older one delivered after it, moves a price with its SKU', async () => {
    const changes = [
      ...legacyTransaction(at(2), [['products', 'update', product(7, { price_cents: 777 })]]),
      // Committed before the change above, delivered after it.
      ...legacyTransaction(at(1), [['products', 'update', product(7, { price_cents: 111 })]]),
      ...legacyTransaction(at(3), [
        ['products', 'update', product(8, { sku: 'leg-8000', price_cents: 888 })],
      ]),
    ];
    for (const change of changes) await store.bus.publish([change]);
    await waitForHandled(
      running.service.db as Pool,
      'pricing-legacy',
      changes.map((change) => change.envelope.event_id),
    );
    expect(await priceOf('LEG-8000')).toEqual({ each: 888, currency: 'GBP' });
    expect(await priceOf('LEG-0007')).toEqual({ each: 777, currency: 'GBP' });
    expect(await grpcFailure(priceOf('LEG-0008'))).toBeDefined();
  });
});
