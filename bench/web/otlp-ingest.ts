import { SpanKind } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { decodeOtlpProtobuf } from '../../apps/cli/src/observability/otlp-decode.ts';
import { decodeOtlpByReflection } from '../../apps/cli/src/observability/otlp-decode-reflection.ts';

/**
 * What receiving spans costs the supervisor: `traces` requests of seven spans made by the real SDK,
 * serialized as the services' exporter sends them (batches of 512), then decoded by the receiver;
 * against serializing them (what each service pays to send the same spans), and against the
 * reflection decoder (`@bufbuild/protobuf`) the receiver used before, in the same run: each decoder
 * over every batch, alternating, five rounds, the fastest round of each kept.
 */
export async function measureOtlpIngest(traces: number) {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'gateway' }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('bench');
  for (let n = 0; n < traces; n++) {
    const root = tracer.startSpan('request', {
      kind: SpanKind.SERVER,
      attributes: { 'http.route': '/api/storefront/products', 'http.request.method': 'GET' },
    });
    for (let child = 0; child < 6; child++)
      tracer
        .startSpan(`pg.query:SELECT catalog ${child}`, {
          attributes: {
            'db.system.name': 'postgresql',
            'db.query.text': 'SELECT id, sku, name FROM products LIMIT $1',
          },
        })
        .end();
    root.end();
  }
  const spans = exporter.getFinishedSpans();
  const batches: Uint8Array[] = [];
  let serializeMs = 0;
  for (let start = 0; start < spans.length; start += 512) {
    const began = performance.now();
    const body = ProtobufTraceSerializer.serializeRequest(spans.slice(start, start + 512));
    serializeMs += performance.now() - began;
    if (body) batches.push(body);
  }
  const round = (decode: (body: Uint8Array) => unknown[]) => {
    const began = performance.now();
    let decoded = 0;
    for (const body of batches) decoded += decode(body).length;
    return { ms: performance.now() - began, decoded };
  };
  let decodeMs = Number.POSITIVE_INFINITY;
  let reflectionMs = Number.POSITIVE_INFINITY;
  let decoded = 0;
  for (let n = 0; n < 5; n++) {
    const handWritten = round(decodeOtlpProtobuf);
    const reflection = round(decodeOtlpByReflection);
    if (handWritten.decoded !== reflection.decoded) throw new Error('the two decoders read different spans');
    decoded = handWritten.decoded;
    decodeMs = Math.min(decodeMs, handWritten.ms);
    reflectionMs = Math.min(reflectionMs, reflection.ms);
  }
  await provider.shutdown();
  return {
    spans: decoded,
    decode_us_per_span: (decodeMs * 1000) / decoded,
    reflection_decode_us_per_span: (reflectionMs * 1000) / decoded,
    serialize_us_per_span: (serializeMs * 1000) / decoded,
    wire_bytes_per_span: batches.reduce((total, body) => total + body.length, 0) / decoded,
  };
}
