import { ProtobufReader } from './protobuf-reader.ts';
import type { AttributeValue, SpanKindName, StoredSpan } from './span.ts';

type SpanEvent = StoredSpan['events'][number];

const kinds: SpanKindName[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const statuses: StoredSpan['status'][] = ['unset', 'ok', 'error'];

// @fastify/otel names an anonymous handler's span after the handler's source text; a name is a
// label, not a listing.
const MAX_NAME = 120;
const nameOf = (name: string) => {
  if (name.startsWith('handler - ') && name.length > 60) return 'handler';
  return name.length > MAX_NAME ? `${name.slice(0, MAX_NAME - 1)}…` : name;
};
const nanosToMs = (nanos: bigint): number => Number(nanos / 1000n) / 1000;

// Wire types.
const VARINT = 0;
const FIXED64 = 1;
const LENGTH = 2;

/*
 * Field numbers of the OTLP messages read here (opentelemetry/proto, trace/v1, common/v1,
 * resource/v1, collector/trace/v1); every other field is skipped.
 */

/**
 * An `AnyValue` flattened to what the store keeps: string, bool, int and double as they are, bytes
 * as hex, arrays and maps as JSON text; a value with none set as ''.
 */
function anyValue(reader: ProtobufReader): AttributeValue {
  let value: AttributeValue = '';
  while (reader.more()) {
    const tag = reader.tag();
    const wireType = tag & 7;
    switch (tag >>> 3) {
      case 1:
        if (wireType !== LENGTH) break;
        value = reader.string();
        continue;
      case 2:
        if (wireType !== VARINT) break;
        value = reader.bool();
        continue;
      case 3:
        if (wireType !== VARINT) break;
        value = reader.int64();
        continue;
      case 4:
        if (wireType !== FIXED64) break;
        value = reader.double();
        continue;
      case 5: {
        // ArrayValue { repeated AnyValue values = 1 }
        if (wireType !== LENGTH) break;
        const array = reader.message();
        const values: AttributeValue[] = [];
        while (array.more()) {
          const inner = array.tag();
          if (inner === ((1 << 3) | LENGTH)) values.push(anyValue(array.message()));
          else array.skip(inner & 7);
        }
        value = JSON.stringify(values);
        continue;
      }
      case 6:
        if (wireType !== LENGTH) break;
        value = JSON.stringify(keyValues(reader.message()));
        continue;
      case 7:
        if (wireType !== LENGTH) break;
        value = reader.hex();
        continue;
    }
    reader.skip(wireType);
  }
  return value;
}

/** A `KeyValue { string key = 1; AnyValue value = 2 }` put into `into`. */
function keyValue(reader: ProtobufReader, into: Record<string, AttributeValue>): void {
  let key = '';
  let value: AttributeValue = '';
  while (reader.more()) {
    const tag = reader.tag();
    if (tag === ((1 << 3) | LENGTH)) key = reader.string();
    else if (tag === ((2 << 3) | LENGTH)) value = anyValue(reader.message());
    else reader.skip(tag & 7);
  }
  into[key] = value;
}

/**
 * A message whose field 1 is `repeated KeyValue`, as a record: `KeyValueList { values = 1 }` (an
 * attribute's map) and `Resource { attributes = 1 }` alike.
 */
function keyValues(reader: ProtobufReader): Record<string, AttributeValue> {
  const attributes: Record<string, AttributeValue> = {};
  while (reader.more()) {
    const tag = reader.tag();
    if (tag === ((1 << 3) | LENGTH)) keyValue(reader.message(), attributes);
    else reader.skip(tag & 7);
  }
  return attributes;
}

/** `Span.Event { fixed64 time_unix_nano = 1; string name = 2; repeated KeyValue attributes = 3 }`. */
function spanEvent(reader: ProtobufReader): SpanEvent {
  let timeNanos = 0n;
  let name = '';
  const attributes: Record<string, AttributeValue> = {};
  while (reader.more()) {
    const tag = reader.tag();
    if (tag === ((1 << 3) | FIXED64)) timeNanos = reader.fixed64();
    else if (tag === ((2 << 3) | LENGTH)) name = reader.string();
    else if (tag === ((3 << 3) | LENGTH)) keyValue(reader.message(), attributes);
    else reader.skip(tag & 7);
  }
  return { name, timeMs: nanosToMs(timeNanos), attributes };
}

/** `Status { string message = 2; StatusCode code = 3 }`. */
function spanStatus(reader: ProtobufReader): { code: number; message: string } {
  let code = 0;
  let message = '';
  while (reader.more()) {
    const tag = reader.tag();
    if (tag === ((2 << 3) | LENGTH)) message = reader.string();
    else if (tag === ((3 << 3) | VARINT)) code = reader.uint32();
    else reader.skip(tag & 7);
  }
  return { code, message };
}

/**
 * A `Span`: trace_id 1, span_id 2, parent_span_id 4, name 5, kind 6, start 7, end 8,
 * attributes 9, events 11, status 15.
 */
function span(reader: ProtobufReader, service: string): StoredSpan {
  let traceId = '';
  let spanId = '';
  let parentSpanId = '';
  let name = '';
  let kind = 0;
  let startNanos = 0n;
  let endNanos = 0n;
  const attributes: Record<string, AttributeValue> = {};
  const events: SpanEvent[] = [];
  let status = { code: 0, message: '' };
  while (reader.more()) {
    const tag = reader.tag();
    switch (tag) {
      case (1 << 3) | LENGTH:
        traceId = reader.hex();
        break;
      case (2 << 3) | LENGTH:
        spanId = reader.hex();
        break;
      case (4 << 3) | LENGTH:
        parentSpanId = reader.hex();
        break;
      case (5 << 3) | LENGTH:
        name = reader.string();
        break;
      case (6 << 3) | VARINT:
        kind = reader.uint32();
        break;
      case (7 << 3) | FIXED64:
        startNanos = reader.fixed64();
        break;
      case (8 << 3) | FIXED64:
        endNanos = reader.fixed64();
        break;
      case (9 << 3) | LENGTH:
        keyValue(reader.message(), attributes);
        break;
      case (11 << 3) | LENGTH:
        events.push(spanEvent(reader.message()));
        break;
      case (15 << 3) | LENGTH:
        status = spanStatus(reader.message());
        break;
      default:
        reader.skip(tag & 7);
    }
  }
  const startMs = nanosToMs(startNanos);
  return {
    traceId,
    spanId,
    parentSpanId,
    service,
    name: nameOf(name),
    kind: kinds[kind] ?? 'unspecified',
    startMs,
    durationMs: Math.max(0, nanosToMs(endNanos) - startMs),
    status: statuses[status.code] ?? 'unset',
    statusMessage: status.message,
    attributes,
    events,
  };
}

/** `ScopeSpans { repeated Span spans = 2 }`: its spans into `into`. */
function scopeSpans(reader: ProtobufReader, service: string, into: StoredSpan[]): void {
  while (reader.more()) {
    const tag = reader.tag();
    if (tag === ((2 << 3) | LENGTH)) into.push(span(reader.message(), service));
    else reader.skip(tag & 7);
  }
}

/**
 * `ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2 }`. The resource may
 * come after the spans on the wire: the scopes are read once it is known.
 */
function resourceSpans(reader: ProtobufReader, into: StoredSpan[]): void {
  let resource: Record<string, AttributeValue> = {};
  const scopes: ProtobufReader[] = [];
  while (reader.more()) {
    const tag = reader.tag();
    if (tag === ((1 << 3) | LENGTH)) resource = keyValues(reader.message());
    else if (tag === ((2 << 3) | LENGTH)) scopes.push(reader.message());
    else reader.skip(tag & 7);
  }
  const service = String(resource['service.name'] ?? 'unknown');
  for (const scope of scopes) scopeSpans(scope, service, into);
}

/**
 * The spans of an OTLP/HTTP protobuf export (`POST /v1/traces`, `application/x-protobuf`), the
 * encoding OpenTelemetry SDKs send by default: `ExportTraceServiceRequest { repeated ResourceSpans
 * resource_spans = 1 }`. Throws on a body that is not one (a field past its end, a wire type
 * protobuf does not have).
 */
export function decodeOtlpProtobuf(body: Uint8Array): StoredSpan[] {
  const reader = new ProtobufReader(body);
  const spans: StoredSpan[] = [];
  while (reader.more()) {
    const tag = reader.tag();
    if (tag === ((1 << 3) | LENGTH)) resourceSpans(reader.message(), spans);
    else reader.skip(tag & 7);
  }
  return spans;
}
