import { Experiment, type ExperimentMode, type Logger, type ServiceMetrics } from '@mercato/chassis';
import type { Result } from '@mercato/chassis/result';
import { calculateQuote, type Quote, type QuoteInput, type QuoteRejection } from '../domain/quote.ts';
import { calculateQuoteV2 } from '../domain/quote-v2.ts';

/** Prices a basket for a customer (known or not): the abstraction both engines sit behind. */
export type QuoteEngine = (
  input: QuoteInput,
  customerId: string | undefined,
) => Result<Quote, QuoteRejection>;

/** `PRICING_DISCOUNT_ENGINE`: which engine answers. */
export type EngineChoice = 'v1' | 'shadow' | 'v2';

const modes: Record<EngineChoice, ExperimentMode> = { v1: 'control', shadow: 'shadow', v2: 'candidate' };

export interface DiscountEngineSettings {
  choice: EngineChoice;
  /** With `v2`: the share of customers (by a hash of their id) it answers for; the rest are in shadow. */
  v2Percent: number;
  registry: ServiceMetrics['registry'];
  logger: Logger;
  /** The engines compared (tests put a deliberately different v2 here). */
  v1?: (input: QuoteInput) => Result<Quote, QuoteRejection>;
  v2?: (input: QuoteInput) => Result<Quote, QuoteRejection>;
}

/**
 * Branch by abstraction for the discount engine: v1 (`calculateQuote`) and its rewrite v2
 * (`calculateQuoteV2`) behind one `QuoteEngine`, chosen by configuration — v1 alone, both in shadow
 * (v1 answers, every difference is counted in `experiment_runs_total{experiment="discount-engine"}`
 * and kept in the diff log at `/admin/experiments`), or v2 for a share of customers. Once v2 has
 * answered for everyone with no difference, v1 and this file's choice go, and v2 is called directly.
 */
export function discountEngine(settings: DiscountEngineSettings): {
  quote: QuoteEngine;
  experiment: Experiment<QuoteInput, Result<Quote, QuoteRejection>>;
} {
  const experiment = new Experiment({
    name: 'discount-engine',
    control: settings.v1 ?? calculateQuote,
    candidate: settings.v2 ?? calculateQuoteV2,
    mode: modes[settings.choice],
    candidatePercent: settings.v2Percent,
    registry: settings.registry,
    logger: settings.logger,
    // The diff log shows what was priced, with the prices and discounts that applied, as JSON.
    describeInput: (input) => ({
      items: input.items,
      segment: input.segment ?? null,
      prices: Object.fromEntries(input.prices),
      categories: Object.fromEntries(input.categories),
      discounts: input.discounts,
    }),
  });
  return { quote: (input, customerId) => experiment.run(input, customerId), experiment };
}
