import { SpanKind } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { decodeOtlpProtobuf } from '../../apps/cli/src/observability/otlp-decode.ts';

/**
 * What receiving spans costs the supervisor: `traces` requests of seven spans made by the real SDK,
 * serialized as the services' exporter sends them (batches of 512), then decoded by the receiver;
 * against serializing them (what each service pays to send the same spans).
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
  const batches = [];
  let serializeMs = 0;
  for (let start = 0; start < spans.length; start += 512) {
    const began = performance.now();
    const body = ProtobufTraceSerializer.serializeRequest(spans.slice(start, start + 512));
    serializeMs += performance.now() - began;
    if (body) batches.push(body);
  }
  const began = performance.now();
  let decoded = 0;
  for (const body of batches) decoded += decodeOtlpProtobuf(body).length;
  const decodeMs = performance.now() - began;
  await provider.shutdown();
  return {
    spans: decoded,
    decode_us_per_span: (decodeMs * 1000) / decoded,
    serialize_us_per_span: (serializeMs * 1000) / decoded,
    wire_bytes_per_span: batches.reduce((total, body) => total + body.length, 0) / decoded,
  };
}
