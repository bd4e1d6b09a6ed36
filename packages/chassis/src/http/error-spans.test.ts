import { FastifyOtelInstrumentation } from '@fastify/otel';
import { context, propagation, SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError, OverloadedError } from '../errors/app-error.ts';
import { createLogger } from '../logging/create-logger.ts';
import { createServiceMetrics } from '../metrics/service-metrics.ts';
import { fastifyTracing } from '../telemetry/tracing-sdk.ts';
import { createHttpServer, type HttpApp } from './create-http-server.ts';

/**
 * A failed request's span says it failed; only an unexpected failure carries the exception (and so
 * has its stack read): a refusal under overload or a client's mistake must not pay for one.
 */
describe('exceptions on request spans', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const instrumentation = new FastifyOtelInstrumentation(fastifyTracing);
  let app: HttpApp;
  const stacksRead: string[] = [];

  /** An error that notes when its stack is read. */
  const watched = <T extends Error>(error: T): T => {
    const stack = error.stack;
    Object.defineProperty(error, 'stack', {
      get: () => {
        stacksRead.push(error.message);
        return stack;
      },
    });
    return error;
  };

  beforeAll(async () => {
    provider.register();
    instrumentation.setTracerProvider(provider);
    instrumentation.enable();
    app = createHttpServer({
      logger: createLogger({ service: 'test', level: 'silent' }),
      metrics: createServiceMetrics('test'),
    });
    app.get('/shed', async () => {
      throw watched(new OverloadedError('TEST.OVERLOADED', 'too busy'));
    });
    app.get('/missing', async () => {
      throw watched(new AppError({ code: 'TEST.MISSING', kind: 'not_found', message: 'no such thing' }));
    });
    app.get('/broken', async () => {
      throw watched(new Error('a bug'));
    });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    instrumentation.disable();
    await provider.shutdown();
    trace.disable();
    context.disable();
    propagation.disable();
  });

  const spanOf = async (url: string) => {
    exporter.reset();
    await app.inject({ method: 'GET', url });
    const span = exporter.getFinishedSpans().find((finished) => finished.kind === 1 /* SERVER */);
    if (!span) throw new Error(`no server span for ${url}`);
    return span;
  };

  it('records the exception of an unexpected failure only', async () => {
    const shed = await spanOf('/shed');
    const missing = await spanOf('/missing');
    const broken = await spanOf('/broken');

    for (const span of [shed, missing, broken]) expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(shed.events.filter((event) => event.name === 'exception')).toEqual([]);
    expect(missing.events.filter((event) => event.name === 'exception')).toEqual([]);
    const [exception] = broken.events.filter((event) => event.name === 'exception');
    expect(exception?.attributes?.['exception.message']).toBe('a bug');
    expect(stacksRead).not.toContain('too busy');
    expect(stacksRead).not.toContain('no such thing');
  });
});
