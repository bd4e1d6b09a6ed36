import { context, propagation, trace } from '@opentelemetry/api';
import { afterAll, describe, expect, it } from 'vitest';
import { startTracing, stopTracing } from './tracing-sdk.ts';

describe('startTracing', () => {
  afterAll(async () => {
    await stopTracing();
    trace.disable();
    context.disable();
    propagation.disable();
  });

  it("records a service's new traces within the budget its environment names", () => {
    startTracing('budgeted', { MERCATO_TRACE_ROOTS_PER_SECOND: '1', MERCATO_TRACE_SAMPLE_PERCENT: '0' });
    const tracer = trace.getTracer('test');
    const recorded = Array.from({ length: 12 }, () => {
      const span = tracer.startSpan('request');
      const recording = span.isRecording();
      span.end();
      return recording;
    });
    // A budget of 1 a second holds a burst of 10; the share is 0.
    expect(recorded).toEqual([...Array<boolean>(10).fill(true), false, false]);
  });
});
