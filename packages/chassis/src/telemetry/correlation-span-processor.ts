import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { currentRequestContext } from '../logging/request-context.ts';

/** The span attribute holding the request's correlation id (the supervisor's trace search reads it). */
export const CORRELATION_ATTRIBUTE = 'mercato.correlation_id';

/**
 * Puts the correlation id of the request (or message) being handled on every span it starts, so a
 * trace can be found by the id a customer or a log line quotes. Each process tags its own spans:
 * the id travels between processes in headers and envelopes, not in the trace context.
 */
export class CorrelationSpanProcessor implements SpanProcessor {
  onStart(span: Span, _parentContext: Context): void {
    const correlationId = currentRequestContext()?.correlationId;
    if (correlationId) span.setAttribute(CORRELATION_ATTRIBUTE, correlationId);
  }

  onEnd(_span: ReadableSpan): void {}

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
