import { fromBinary } from '@bufbuild/protobuf';
import { ExportTraceServiceRequestSchema } from '../otlp/gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js';
import type { AnyValue, KeyValue } from '../otlp/gen/opentelemetry/proto/common/v1/common_pb.js';
import type { AttributeValue, SpanKindName, StoredSpan } from './span.ts';

const kinds: SpanKindName[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const statuses: StoredSpan['status'][] = ['unset', 'ok', 'error'];

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

// @fastify/otel names an anonymous handler's span after the handler's source text; a name is a
// label, not a listing.
const MAX_NAME = 120;
const nameOf = (name: string) => {
  if (name.startsWith('handler - ') && name.length > 60) return 'handler';
  return name.length > MAX_NAME ? `${name.slice(0, MAX_NAME - 1)}…` : name;
};
const nanosToMs = (nanos: bigint): number => Number(nanos / 1000n) / 1000;

/** An attribute's value flattened to what the store keeps (arrays and maps as JSON text). */
function flatValue(value: AnyValue | undefined): AttributeValue {
  const inner = value?.value;
  switch (inner?.case) {
    case 'stringValue':
    case 'boolValue':
    case 'doubleValue':
      return inner.value;
    case 'intValue':
      return Number(inner.value);
    case 'bytesValue':
      return hex(inner.value);
    case 'arrayValue':
      return JSON.stringify(inner.value.values.map(flatValue));
    case 'kvlistValue':
      return JSON.stringify(attributesOf(inner.value.values));
    default:
      return '';
  }
}

function attributesOf(list: readonly KeyValue[]): Record<string, AttributeValue> {
  const attributes: Record<string, AttributeValue> = {};
  for (const { key, value } of list) attributes[key] = flatValue(value);
  return attributes;
}

/**
 * The spans of an OTLP/HTTP protobuf export (`POST /v1/traces`, `application/x-protobuf`), the
 * encoding OpenTelemetry SDKs send by default. Throws on a body that is not one.
 */
export function decodeOtlpProtobuf(body: Uint8Array): StoredSpan[] {
  const request = fromBinary(ExportTraceServiceRequestSchema, body);
  const spans: StoredSpan[] = [];
  for (const resourceSpans of request.resourceSpans) {
    const resource = attributesOf(resourceSpans.resource?.attributes ?? []);
    const service = String(resource['service.name'] ?? 'unknown');
    for (const scopeSpans of resourceSpans.scopeSpans)
      for (const span of scopeSpans.spans) {
        const startMs = nanosToMs(span.startTimeUnixNano);
        spans.push({
          traceId: hex(span.traceId),
          spanId: hex(span.spanId),
          parentSpanId: hex(span.parentSpanId),
          service,
          name: nameOf(span.name),
          kind: kinds[span.kind] ?? 'unspecified',
          startMs,
          durationMs: Math.max(0, nanosToMs(span.endTimeUnixNano) - startMs),
          status: statuses[span.status?.code ?? 0] ?? 'unset',
          statusMessage: span.status?.message ?? '',
          attributes: attributesOf(span.attributes),
          events: span.events.map((event) => ({
            name: event.name,
            timeMs: nanosToMs(event.timeUnixNano),
            attributes: attributesOf(event.attributes),
          })),
        });
      }
  }
  return spans;
}
