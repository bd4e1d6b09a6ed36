import { fromBinary } from '@bufbuild/protobuf';
import { ExportTraceServiceRequestSchema } from '../otlp/gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js';
import type { AnyValue, KeyValue } from '../otlp/gen/opentelemetry/proto/common/v1/common_pb.js';
import type { AttributeValue, StoredSpan } from './span.ts';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const nanosToMs = (nanos: bigint): number => Number(nanos / 1000n) / 1000;
const kinds = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'] as const;
const statuses = ['unset', 'ok', 'error'] as const;

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
 * The spans of an OTLP/HTTP protobuf export decoded by reflection (`@bufbuild/protobuf`'s `fromBinary`
 * over the generated OTLP schema), as the supervisor did before `decodeOtlpProtobuf`; names are
 * left whole. Kept as the reference the hand-written decoder is property-tested against
 * (`otlp-decode.property.test.ts`) and as bench/web's same-run baseline; nothing else uses it.
 */
export function decodeOtlpByReflection(body: Uint8Array): Omit<StoredSpan, 'name'>[] {
  const request = fromBinary(ExportTraceServiceRequestSchema, body);
  return request.resourceSpans.flatMap((resourceSpans) => {
    const service = String(
      attributesOf(resourceSpans.resource?.attributes ?? [])['service.name'] ?? 'unknown',
    );
    return resourceSpans.scopeSpans.flatMap((scope) =>
      scope.spans.map((span) => {
        const startMs = nanosToMs(span.startTimeUnixNano);
        return {
          traceId: hex(span.traceId),
          spanId: hex(span.spanId),
          parentSpanId: hex(span.parentSpanId),
          service,
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
        };
      }),
    );
  });
}
