import { createLogger, createServiceMetrics } from '@mercato/chassis';
import { demoProducts } from '@mercato/demo-shop';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { calculateQuote, Discount, Price, QuoteInput } from '../domain/quote.ts';
import { calculateQuoteV2 } from '../domain/quote-v2.ts';
import { seedDemoPrices } from './demo-prices.ts';
import { discountEngine, type EngineChoice } from './discount-engine.ts';
import type { PriceBook } from './price-book.port.ts';
import { pricingService } from './pricing-service.ts';

const logger = createLogger({ service: 'pricing-test', level: 'silent' });

/** The demo shop's price list and discounts, every product in its category. */
async function demoBook(): Promise<PriceBook> {
  const prices = new Map<string, Price>();
  const discounts: Discount[] = [];
  const book: PriceBook = {
    pricesFor: async (skus) =>
      new Map(skus.flatMap((sku) => (prices.has(sku) ? [[sku, prices.get(sku) as Price]] : []))),
    categoriesFor: async (skus) =>
      new Map(
        demoProducts.filter((product) => skus.includes(product.sku)).map((p) => [p.sku, p.categorySlug]),
      ),
    activeDiscounts: async () => discounts,
    setPrices: async (list) => {
      for (const price of list) prices.set(price.sku, price);
    },
    addDiscounts: async (list) => void discounts.push(...list),
    countPrices: async () => prices.size,
  };
  await seedDemoPrices(book);
  return book;
}

const segments = ['standard', 'member', 'vip'];
/** A basket of demo products for one of 200 customers, whose segment follows from their id. */
const basket = fc.record({
  customer: fc.integer({ min: 0, max: 199 }).map((n) => `cus_${n}`),
  items: fc.array(
    fc.record({
      sku: fc.constantFrom(...demoProducts.map((product) => product.sku)),
      quantity: fc.integer({ min: 1, max: 9 }),
    }),
    { minLength: 1, maxLength: 5 },
  ),
});

async function pricing(
  choice: EngineChoice,
  options: { v2?: typeof calculateQuoteV2; v1?: typeof calculateQuote; v2Percent?: number } = {},
) {
  const { registry } = createServiceMetrics('pricing');
  const engine = discountEngine({
    choice,
    v2Percent: options.v2Percent ?? 100,
    registry,
    logger,
    ...options,
  });
  const service = pricingService(
    await demoBook(),
    async (customerId) => segments[Number(customerId.slice(4)) % 3] ?? 'standard',
    logger,
    engine.quote,
  );
  return { service, experiment: engine.experiment, registry };
}

/** v2 with a deliberate mistake: a percentage discount one basis point larger than it says. */
const offByOneBasisPoint = (input: QuoteInput) =>
  calculateQuoteV2({
    ...input,
    discounts: input.discounts.map((d) =>
      d.kind === 'percentage' ? { ...d, basisPoints: d.basisPoints + 1 } : d,
    ),
  });

describe('the discount engine behind its abstraction (branch by abstraction)', () => {
  it('in shadow finds a deliberately introduced difference in v2 and reports it, customers getting v1’s quote', async () => {
    const { service, experiment } = await pricing('shadow', { v2: offByOneBasisPoint });
    const reference = await pricing('v1');
    const samples = fc.sample(basket, { numRuns: 200, seed: 7 });
    for (const { customer, items } of samples)
      expect(await service.quote(items, customer)).toEqual(await reference.service.quote(items, customer));
    const report = experiment.report();
    expect(report.compared).toBe(200);
    expect(report.mismatches).toBeGreaterThan(0);
    const [latest] = report.recent;
    // The diff log holds what was priced and both answers, so the difference can be read off.
    expect(latest?.subject).toMatch(/^cus_/);
    const asked = latest?.input as { items: unknown[]; prices: Record<string, Price> };
    expect(asked.items.length).toBeGreaterThan(0);
    expect(Object.values(asked.prices)[0]).toMatchObject({ currency: 'EUR' });
    const control = latest?.control as { ok: true; value: { discountMinor: number } };
    const candidate = latest?.candidate as { ok: true; value: { discountMinor: number } };
    expect(candidate.value.discountMinor).toBeGreaterThan(control.value.discountMinor);
  });

  it('with v2 as written, 1,000 quotes in shadow differ in nothing', async () => {
    const { service, experiment, registry } = await pricing('shadow');
    for (const { customer, items } of fc.sample(basket, { numRuns: 1_000, seed: 11 }))
      await service.quote(items, customer);
    expect(experiment.report()).toMatchObject({
      compared: 1_000,
      mismatches: 0,
      candidate_errors: 0,
      recent: [],
    });
    expect(await registry.metrics()).toContain(
      'experiment_runs_total{experiment="discount-engine",outcome="match",service="pricing"} 1000',
    );
  });

  it('at v2 for 100 % of customers, v1 is never asked, so it can be removed', async () => {
    const { service, experiment } = await pricing('v2', {
      v1: () => {
        throw new Error('v1 was removed');
      },
    });
    for (const { customer, items } of fc.sample(basket, { numRuns: 200, seed: 3 })) {
      const quote = await service.quote(items, customer);
      expect(quote.totalMinor).toBe(quote.subtotalMinor - quote.discountMinor);
    }
    expect(await service.quote([{ sku: 'BOK-0001', quantity: 1 }], undefined)).toMatchObject({
      currency: 'EUR',
    });
    expect(experiment.report()).toMatchObject({ candidate_answers: 201, compared: 0 });
  });
});
