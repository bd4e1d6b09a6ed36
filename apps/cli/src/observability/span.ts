/** One span as the supervisor keeps it: flat, times in epoch milliseconds (fractions keep µs). */
export interface StoredSpan {
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  /** `service.name` of the process that made it. */
  service: string;
  name: string;
  kind: SpanKindName;
  startMs: number;
  durationMs: number;
  status: 'unset' | 'ok' | 'error';
  statusMessage: string;
  attributes: Record<string, AttributeValue>;
  events: { name: string; timeMs: number; attributes: Record<string, AttributeValue> }[];
}

export type AttributeValue = string | number | boolean;

export type SpanKindName = 'internal' | 'server' | 'client' | 'producer' | 'consumer' | 'unspecified';

/** The attribute the chassis puts the request's correlation id in (telemetry/correlation-span-processor). */
export const CORRELATION_ATTRIBUTE = 'mercato.correlation_id';

/** A rough count of the bytes a span holds on the heap, for the store's bound. */
export function approximateBytes(span: StoredSpan): number {
  let bytes = 320 + span.name.length * 2 + span.statusMessage.length * 2;
  for (const [key, value] of Object.entries(span.attributes))
    bytes += 48 + key.length * 2 + (typeof value === 'string' ? value.length * 2 : 8);
  for (const event of span.events) {
    bytes += 96 + event.name.length * 2;
    for (const [key, value] of Object.entries(event.attributes))
      bytes += 48 + key.length * 2 + (typeof value === 'string' ? value.length * 2 : 8);
  }
  return bytes;
}
