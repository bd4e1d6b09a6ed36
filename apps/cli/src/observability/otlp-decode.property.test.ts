import { create, type MessageInitShape, toBinary } from '@bufbuild/protobuf';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ExportTraceServiceRequestSchema } from '../otlp/gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js';
import { decodeOtlpProtobuf } from './otlp-decode.ts';
import { decodeOtlpByReflection } from './otlp-decode-reflection.ts';
import type { StoredSpan } from './span.ts';

/*
 * The hand-written decoder against the reflection one it replaced (`@bufbuild/protobuf`'s
 * `fromBinary` over the generated OTLP schema), on random export requests that schema encodes:
 * every field the store keeps, every kind of attribute value (nested arrays and maps, negative and
 * large ints, bytes, doubles), fields it skips (links, flags, trace state, dropped counts, scopes),
 * and resources written after their spans.
 */

type Request = MessageInitShape<typeof ExportTraceServiceRequestSchema>;

const key = fc.string({ maxLength: 12 });
const { anyValue } = fc.letrec<{ anyValue: unknown }>((tie) => ({
  anyValue: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({}),
    fc.record({ value: fc.record({ case: fc.constant('stringValue'), value: fc.string() }) }),
    fc.record({ value: fc.record({ case: fc.constant('boolValue'), value: fc.boolean() }) }),
    fc.record({
      value: fc.record({ case: fc.constant('intValue'), value: fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n) }),
    }),
    fc.record({
      value: fc.record({ case: fc.constant('intValue'), value: fc.bigInt(-(2n ** 40n), 2n ** 40n) }),
    }),
    fc.record({ value: fc.record({ case: fc.constant('doubleValue'), value: fc.double({ noNaN: true }) }) }),
    fc.record({
      value: fc.record({ case: fc.constant('bytesValue'), value: fc.uint8Array({ maxLength: 8 }) }),
    }),
    fc.record({
      value: fc.record({
        case: fc.constant('arrayValue'),
        value: fc.record({ values: fc.array(tie('anyValue'), { maxLength: 3 }) }),
      }),
    }),
    fc.record({
      value: fc.record({
        case: fc.constant('kvlistValue'),
        value: fc.record({
          values: fc.array(fc.record({ key, value: tie('anyValue') }), { maxLength: 3 }),
        }),
      }),
    }),
  ),
}));
const attributes = fc.array(fc.record({ key, value: anyValue }), { maxLength: 4 });
const nanos = fc.bigInt(0n, 2n ** 64n - 1n);
const span = fc.record(
  {
    traceId: fc.uint8Array({ minLength: 16, maxLength: 16 }),
    spanId: fc.uint8Array({ minLength: 8, maxLength: 8 }),
    parentSpanId: fc.uint8Array({ maxLength: 8 }),
    traceState: fc.string({ maxLength: 8 }),
    flags: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    name: fc.string({ maxLength: 40 }),
    kind: fc.integer({ min: 0, max: 7 }),
    startTimeUnixNano: nanos,
    endTimeUnixNano: nanos,
    attributes,
    droppedAttributesCount: fc.nat(),
    events: fc.array(fc.record({ timeUnixNano: nanos, name: fc.string({ maxLength: 10 }), attributes }), {
      maxLength: 2,
    }),
    links: fc.array(
      fc.record({
        traceId: fc.uint8Array({ minLength: 16, maxLength: 16 }),
        spanId: fc.uint8Array(),
        attributes,
      }),
      { maxLength: 1 },
    ),
    status: fc.record({ message: fc.string({ maxLength: 10 }), code: fc.integer({ min: 0, max: 3 }) }),
  },
  { requiredKeys: ['traceId', 'spanId', 'name'] },
);
const request = fc.record({
  resourceSpans: fc.array(
    fc.record(
      {
        resource: fc.record({
          attributes: fc.oneof(
            attributes,
            attributes.map((list) => [
              ...list,
              { key: 'service.name', value: { value: { case: 'stringValue', value: 'order' } } },
            ]),
          ),
        }),
        scopeSpans: fc.array(
          fc.record({
            scope: fc.record({ name: fc.string({ maxLength: 8 }), version: fc.string({ maxLength: 4 }) }),
            spans: fc.array(span, { maxLength: 3 }),
            schemaUrl: fc.string({ maxLength: 8 }),
          }),
          { maxLength: 2 },
        ),
        schemaUrl: fc.string({ maxLength: 8 }),
      },
      { requiredKeys: [] },
    ),
    { maxLength: 3 },
  ),
}) as fc.Arbitrary<Request>;

/** The spans without their names: the decoder shortens a long one, the reference keeps it whole. */
const withoutNames = (spans: StoredSpan[]) => spans.map(({ name: _name, ...rest }) => rest);

describe('decodeOtlpProtobuf against the reflection decoder', () => {
  it('reads every random export request as the reflection decoder does', () => {
    fc.assert(
      fc.property(request, (init) => {
        const body = toBinary(ExportTraceServiceRequestSchema, create(ExportTraceServiceRequestSchema, init));
        expect(withoutNames(decodeOtlpProtobuf(body))).toEqual(decodeOtlpByReflection(body));
      }),
      { numRuns: 300 },
    );
    // 0.45 s alone; CPU-bound, so a starved worker stretches it: over 5 s once in CI (7 Dec), while
    // the suites beside it built every service and type-checked the repository.
  }, 30_000);

  it('reads a resource written after its spans', () => {
    // ResourceSpans with its scope_spans (field 2) first, then its resource (field 1).
    const scope = toBinary(
      ExportTraceServiceRequestSchema,
      create(ExportTraceServiceRequestSchema, {
        resourceSpans: [
          {
            resource: {
              attributes: [
                { key: 'service.name', value: { value: { case: 'stringValue', value: 'pricing' } } },
              ],
            },
            scopeSpans: [
              {
                spans: [
                  { traceId: new Uint8Array(16).fill(1), spanId: new Uint8Array(8).fill(2), name: 'Quote' },
                ],
              },
            ],
          },
        ],
      }),
    );
    // Reorder the two fields of the one ResourceSpans by hand.
    const inner = scope.subarray(2);
    const resourceLength = inner[1] as number;
    const resource = inner.subarray(0, 2 + resourceLength);
    const rest = inner.subarray(2 + resourceLength);
    const reordered = new Uint8Array([...scope.subarray(0, 2), ...rest, ...resource]);
    expect(decodeOtlpProtobuf(reordered)).toMatchObject([{ service: 'pricing', name: 'Quote' }]);
  });

  it('throws on a body cut short, whatever the cut', () => {
    const body = toBinary(
      ExportTraceServiceRequestSchema,
      create(ExportTraceServiceRequestSchema, {
        resourceSpans: [
          {
            scopeSpans: [{ spans: [{ traceId: new Uint8Array(16), spanId: new Uint8Array(8), name: 'x' }] }],
          },
        ],
      }),
    );
    for (let cut = 1; cut < body.length; cut += 1)
      expect(() => decodeOtlpProtobuf(body.subarray(0, cut)), `cut at ${cut}`).toThrow(RangeError);
  });
});
