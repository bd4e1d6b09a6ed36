import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { decodeOtlpProtobuf } from './otlp-decode.ts';

describe('decodeOtlpProtobuf', () => {
  it('reads what the OpenTelemetry SDK sends: ids, parent, service, kind, times, status, attributes, events', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'order' }),
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const tracer = provider.getTracer('test');
    const parent = tracer.startSpan('CreateOrder', { kind: SpanKind.SERVER });
    parent.setAttribute('rpc.method', 'CreateOrder');
    parent.setAttribute('mercato.correlation_id', 'corr_42');
    parent.setAttribute('retries', 2);
    parent.addEvent('quoted', { lines: 3 });
    parent.setStatus({ code: SpanStatusCode.ERROR, message: 'declined' });
    parent.end();
    const body = ProtobufTraceSerializer.serializeRequest(exporter.getFinishedSpans());
    if (!body) throw new Error('nothing serialized');
    const [span] = decodeOtlpProtobuf(body);
    const sent = exporter.getFinishedSpans()[0];
    expect(span).toMatchObject({
      traceId: sent?.spanContext().traceId,
      spanId: sent?.spanContext().spanId,
      parentSpanId: '',
      service: 'order',
      name: 'CreateOrder',
      kind: 'server',
      status: 'error',
      statusMessage: 'declined',
      attributes: { 'rpc.method': 'CreateOrder', 'mercato.correlation_id': 'corr_42', retries: 2 },
      events: [{ name: 'quoted', attributes: { lines: 3 } }],
    });
    expect(Math.abs((span?.startMs ?? 0) - Date.now())).toBeLessThan(5_000);
    await provider.shutdown();
  });

  it('throws on a body that is not an export request', () => {
    expect(() => decodeOtlpProtobuf(new Uint8Array([0xff, 0xff, 0xff]))).toThrow();
  });
});
