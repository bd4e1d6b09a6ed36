import { FastifyOtelInstrumentation } from '@fastify/otel';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, NoopSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';

/** Endpoints that are polled constantly and would drown real traces. */
const quietPaths = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * The OpenTelemetry SDK is process-wide by design (it patches modules as they load), so its handle
 * lives here, set once by the `--import` preload and flushed by the service on shutdown.
 */
let sdk: NodeSDK | undefined;

export function startTracing(serviceName: string, environment: NodeJS.ProcessEnv = process.env): void {
  if (sdk) return;
  // Metrics go through prom-client and logs through pino; only traces use the SDK.
  environment.OTEL_METRICS_EXPORTER ??= 'none';
  environment.OTEL_LOGS_EXPORTER ??= 'none';
  const endpoint = environment.OTEL_EXPORTER_OTLP_ENDPOINT;
  // Without an endpoint spans are still created, so trace ids reach the logs and propagate downstream.
  const processor: SpanProcessor = endpoint
    ? new BatchSpanProcessor(new OTLPTraceExporter())
    : new NoopSpanProcessor();
  sdk = new NodeSDK({
    serviceName,
    spanProcessors: [processor],
    instrumentations: [
      new UndiciInstrumentation(),
      new PgInstrumentation({ requireParentSpan: true }),
      // Fastify's own instrumentation makes the server span (continuing an incoming traceparent),
      // named by route; instrumentation-http would add a second span per request for nothing
      // (nothing here makes outgoing http.request calls; fetch and undici are covered below).
      // Request and handler spans only: a span per lifecycle hook costs more than it tells.
      new FastifyOtelInstrumentation({
        registerOnInitialization: true,
        instrumentHooks: false,
        ignorePaths: (route) => quietPaths.has(route.url ?? ''),
      }),
    ],
  });
  sdk.start();
}

export async function stopTracing(): Promise<void> {
  const running = sdk;
  sdk = undefined;
  await running?.shutdown();
}
