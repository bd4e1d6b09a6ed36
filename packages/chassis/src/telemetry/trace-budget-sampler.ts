import type { Attributes, Context, Link, SpanKind } from '@opentelemetry/api';
import { type Sampler, SamplingDecision, type SamplingResult } from '@opentelemetry/sdk-trace-base';
import { traceIdDraw } from './trace-id-draw.ts';
import { traceRootsPerSecond, traceSamplePercent } from './trace-sampling-limits.ts';

export interface TraceBudget {
  /**
   * New traces a second this process records in full, in bursts of up to `burstOf` of them
   * (0: only the share).
   */
  perSecond: number;
  /** Of the traces over the budget, the share recorded (0–1), chosen by trace id. */
  share: number;
}

/**
 * Defaults (trace-sampling-limits.ts): one new trace a second and a tenth of the rest; with bursts of
 * ten, a person clicking through the shop or the console (a page is a few calls) has every trace
 * recorded.
 */
export const defaultTraceBudget: TraceBudget = {
  perSecond: traceRootsPerSecond.default,
  share: traceSamplePercent.default / 100,
};

/** How many new traces may be recorded at once: ten, or two seconds' budget when that is more. */
export const burstOf = (perSecond: number): number => (perSecond > 0 ? Math.max(10, 2 * perSecond) : 0);

/**
 * The sampler for a trace's first span in this process (the root: a request from outside, a timer,
 * a message that carries no trace). Spans with a parent follow its decision (ParentBasedSampler), so
 * a trace is recorded in every process or in none.
 *
 * A new trace whose id falls in `share` is recorded (the draw the supervisor's span store keeps by);
 * of the others, every one while the process records at most `perSecond` of them a second (a token
 * bucket holding `burstOf(perSecond)`, refilled continuously, as Jaeger's rate-limiting sampler
 * does). So beyond the budget a trace is recorded only if its id falls in `share`, the draw the
 * supervisor's span store uses to keep traces that are neither failed nor slow: under load the
 * services stop making, encoding and sending the spans of traces the store would drop anyway, and
 * what the store keeps by share is unchanged. What is lost is a failed or slow trace beyond the
 * budget and outside the share; its log lines still carry its trace and correlation ids.
 *
 * Written here because no OpenTelemetry JS package has a local rate-limited sampler (the SDK has
 * ratio and parent-based samplers; Jaeger's and the Java SDK's rate limiter are the models).
 */
export class TraceBudgetSampler implements Sampler {
  readonly #perSecond: number;
  readonly #capacity: number;
  readonly #share: number;
  readonly #now: () => number;
  #credits: number;
  #at: number;

  constructor(budget: TraceBudget, now: () => number = () => performance.now()) {
    this.#perSecond = budget.perSecond;
    this.#capacity = burstOf(budget.perSecond);
    this.#share = budget.share;
    this.#now = now;
    this.#credits = this.#capacity;
    this.#at = now();
  }

  shouldSample(
    _context: Context,
    traceId: string,
    _name: string,
    _kind: SpanKind,
    _attributes: Attributes,
    _links: Link[],
  ): SamplingResult {
    // The share first: a trace the store keeps by its id anyway spends none of the budget.
    if (traceIdDraw(traceId) < this.#share || this.#take())
      return { decision: SamplingDecision.RECORD_AND_SAMPLED };
    return { decision: SamplingDecision.NOT_RECORD };
  }

  toString(): string {
    return `TraceBudgetSampler{perSecond=${this.#perSecond}, share=${this.#share}}`;
  }

  #take(): boolean {
    const now = this.#now();
    this.#credits = Math.min(this.#capacity, this.#credits + ((now - this.#at) / 1_000) * this.#perSecond);
    this.#at = now;
    if (this.#credits < 1) return false;
    this.#credits -= 1;
    return true;
  }
}

const wholeNumber = /^\s*\d+\s*$/;

/**
 * The budget from `MERCATO_TRACE_ROOTS_PER_SECOND` and `MERCATO_TRACE_SAMPLE_PERCENT`. Read by the
 * tracing preload, before the service's configuration: a value out of range falls back to its
 * default here, and the service's own configuration (env-schema.ts) then stops it with a line that
 * names the variable.
 */
export function traceBudgetFrom(environment: NodeJS.ProcessEnv): TraceBudget {
  const read = (name: string, max: number, fallback: number): number => {
    const text = environment[name];
    if (text === undefined || !wholeNumber.test(text)) return fallback;
    const value = Number(text);
    return value <= max ? value : fallback;
  };
  return {
    perSecond: read('MERCATO_TRACE_ROOTS_PER_SECOND', traceRootsPerSecond.max, traceRootsPerSecond.default),
    share: read('MERCATO_TRACE_SAMPLE_PERCENT', traceSamplePercent.max, traceSamplePercent.default) / 100,
  };
}
