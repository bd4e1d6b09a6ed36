import { context, ROOT_CONTEXT, SpanKind, TraceFlags, trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  ParentBasedSampler,
  SamplingDecision,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { TraceBudgetSampler, traceBudgetFrom } from './trace-budget-sampler.ts';
import { traceIdDraw } from './trace-id-draw.ts';

/** Trace ids whose draw is 0 (inside any share) and just under 1 (outside any share below 100 %). */
const lowId = `00000000${'1'.repeat(24)}`;
const highId = `ffffffff${'1'.repeat(24)}`;

function decide(sampler: TraceBudgetSampler, traceId: string): SamplingDecision {
  return sampler.shouldSample(ROOT_CONTEXT, traceId, 'root', SpanKind.SERVER, {}, []).decision;
}

describe('TraceBudgetSampler', () => {
  it('records a burst of new traces, then only the share, and refills at its rate', () => {
    let now = 0;
    const sampler = new TraceBudgetSampler({ perSecond: 8, share: 0.1 }, () => now);
    // Bursts of ten, or of two seconds' budget when that is more: sixteen here.
    const burst = Array.from({ length: 16 }, () => decide(sampler, highId));
    expect(burst.every((decision) => decision === SamplingDecision.RECORD_AND_SAMPLED)).toBe(true);
    // Over the budget: outside the share not recorded, inside it recorded, spending none of it.
    expect(decide(sampler, highId)).toBe(SamplingDecision.NOT_RECORD);
    expect(decide(sampler, lowId)).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    expect(decide(sampler, lowId)).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    // An eighth of a second buys one more; a full second eight (never more than the burst).
    now += 130;
    expect(decide(sampler, highId)).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    expect(decide(sampler, highId)).toBe(SamplingDecision.NOT_RECORD);
    now += 1_000;
    const refilled = Array.from({ length: 10 }, () => decide(sampler, highId));
    expect(refilled.filter((decision) => decision === SamplingDecision.RECORD_AND_SAMPLED)).toHaveLength(8);
    now += 60_000;
    const rested = Array.from({ length: 20 }, () => decide(sampler, highId));
    expect(rested.filter((decision) => decision === SamplingDecision.RECORD_AND_SAMPLED)).toHaveLength(16);
  });

  it('keeps a burst of ten for a small rate, and none for a rate of 0', () => {
    let now = 0;
    const slow = new TraceBudgetSampler({ perSecond: 1, share: 0 }, () => now);
    const decisions = Array.from({ length: 12 }, () => decide(slow, highId));
    expect(decisions.filter((decision) => decision === SamplingDecision.RECORD_AND_SAMPLED)).toHaveLength(10);
    now += 1_000;
    expect(decide(slow, highId)).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    expect(decide(slow, highId)).toBe(SamplingDecision.NOT_RECORD);
    const none = new TraceBudgetSampler({ perSecond: 0, share: 0 }, () => now);
    expect(decide(none, lowId)).toBe(SamplingDecision.NOT_RECORD);
  });

  it('spends its budget only on traces outside the share', () => {
    const sampler = new TraceBudgetSampler({ perSecond: 1, share: 0.5 }, () => 0);
    for (let index = 0; index < 30; index += 1)
      expect(decide(sampler, lowId)).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    const outside = Array.from({ length: 12 }, () => decide(sampler, highId));
    expect(outside.filter((decision) => decision === SamplingDecision.RECORD_AND_SAMPLED)).toHaveLength(10);
  });

  it('with no budget records exactly the share the span store keeps by trace id', () => {
    const sampler = new TraceBudgetSampler({ perSecond: 0, share: 0.25 });
    const ids = Array.from({ length: 400 }, (_, index) =>
      ((index * 0x0a3d70a3) % 0x1_0000_0000).toString(16).padStart(8, '0').concat('2'.repeat(24)),
    );
    for (const id of ids)
      expect(decide(sampler, id) === SamplingDecision.RECORD_AND_SAMPLED).toBe(traceIdDraw(id) < 0.25);
  });

  it('decides a trace once, at its first span: its children follow, local or from another process', () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      sampler: new ParentBasedSampler({ root: new TraceBudgetSampler({ perSecond: 0, share: 0.5 }) }),
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const tracer = provider.getTracer('test');
    // No budget, half the trace ids: the roots are recorded as their ids fall.
    const roots = Array.from({ length: 40 }, () => tracer.startSpan('request'));
    const recorded = roots.filter((span) => span.isRecording()).length;
    expect(recorded).toBeGreaterThan(0);
    expect(recorded).toBeLessThan(40);
    for (const span of roots) expect(span.isRecording()).toBe(traceIdDraw(span.spanContext().traceId) < 0.5);
    for (const root of roots) {
      const child = tracer.startSpan('query', {}, trace.setSpan(context.active(), root));
      // A skipped trace still has ids (they reach the logs and travel on), flagged not sampled.
      expect(child.spanContext().traceId).toBe(root.spanContext().traceId);
      expect(child.isRecording()).toBe(root.isRecording());
      expect(child.spanContext().traceFlags & TraceFlags.SAMPLED).toBe(root.isRecording() ? 1 : 0);
      child.end();
      root.end();
    }
    // The budget is spent, yet a message or call from a recorded trace is recorded here too, and one
    // from a skipped trace is not.
    const remote = (flags: TraceFlags) =>
      trace.setSpanContext(ROOT_CONTEXT, {
        traceId: highId,
        spanId: '2'.repeat(16),
        traceFlags: flags,
        isRemote: true,
      });
    expect(tracer.startSpan('consume', {}, remote(TraceFlags.SAMPLED)).isRecording()).toBe(true);
    expect(tracer.startSpan('consume', {}, remote(TraceFlags.NONE)).isRecording()).toBe(false);
    expect(exporter.getFinishedSpans()).toHaveLength(2 * recorded);
  });
});

describe('traceBudgetFrom', () => {
  it('reads the rate and the share, and keeps the defaults for what is unset or out of range', () => {
    expect(traceBudgetFrom({})).toEqual({ perSecond: 1, share: 0.1 });
    expect(
      traceBudgetFrom({ MERCATO_TRACE_ROOTS_PER_SECOND: '40', MERCATO_TRACE_SAMPLE_PERCENT: '25' }),
    ).toEqual({ perSecond: 40, share: 0.25 });
    expect(
      traceBudgetFrom({ MERCATO_TRACE_ROOTS_PER_SECOND: '-1', MERCATO_TRACE_SAMPLE_PERCENT: '101' }),
    ).toEqual({ perSecond: 1, share: 0.1 });
    expect(traceBudgetFrom({ MERCATO_TRACE_ROOTS_PER_SECOND: 'all' })).toEqual({ perSecond: 1, share: 0.1 });
  });
});
