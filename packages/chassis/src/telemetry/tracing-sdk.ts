import { FastifyOtelInstrumentation } from '@fastify/otel';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, ParentBasedSampler, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { CorrelationSpanProcessor } from './correlation-span-processor.ts';
import { LazyOtlpExporter } from './lazy-otlp-exporter.ts';
import { TraceBudgetSampler, traceBudgetFrom } from './trace-budget-sampler.ts';

/** Endpoints that are polled constantly and would drown real traces. */
const quietPaths = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * Routes that say `config: { tracing: false }` make no span either (the gateway's web app files and
 * the console's polling of the supervisor).
 */
const untraced = (route: { url?: string; config?: unknown }): boolean =>
  quietPaths.has(route.url ?? '') || (route.config as { tracing?: boolean } | undefined)?.tracing === false;

/**
 * Fastify's server spans: request and handler spans only (a span per lifecycle hook costs more than
 * it tells). Exceptions are not recorded on every failed request: a 4xx or a shed request is
 * expected, and recording one reads its stack, formatted and source-mapped each time (the first
 * parses the bundle's map: ~50 ms of a blocked event loop, and under a burst of refusals the edge's
 * p99). The error handler records the unexpected ones (http/error-handler.ts); every failed
 * request's span still gets status ERROR.
 */
export const fastifyTracing = {
  registerOnInitialization: true,
  instrumentHooks: false,
  recordExceptions: false,
  ignorePaths: untraced,
} as const;

/**
 * The tracer provider is process-wide by design (instrumentations patch modules as they load), so
 * its handle is too: set once by the preload and flushed by the service on shutdown. A built
 * service has this module twice (in the preload's bundle and in its own), so the handle lives on
 * the global object, as `@opentelemetry/api` keeps its own.
 */
const PROVIDER = Symbol.for('mercato.tracer-provider');
const holder = globalThis as { [PROVIDER]?: NodeTracerProvider | undefined };

/**
 * Traces only: metrics go through prom-client and logs through pino. Built from the trace SDK
 * rather than `@opentelemetry/sdk-node`, which loads every signal's exporters and resource
 * detectors (≈900 modules, half a second and 30 MB per process) for a service that uses none of them.
 */
export function startTracing(serviceName: string, environment: NodeJS.ProcessEnv = process.env): void {
  if (holder[PROVIDER]) return;
  // Without an endpoint spans are still created, so trace ids reach the logs and propagate downstream.
  const spanProcessors: SpanProcessor[] = environment.OTEL_EXPORTER_OTLP_ENDPOINT
    ? [new CorrelationSpanProcessor(), new BatchSpanProcessor(new LazyOtlpExporter())]
    : [];
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': environment.OTEL_SERVICE_NAME ?? serviceName }),
    spanProcessors,
    // A trace follows its parent's decision; a new one is recorded within this process's budget
    // (trace-budget-sampler.ts). The standard OTEL_TRACES_SAMPLER, when set, is the SDK's to read.
    ...(environment.OTEL_TRACES_SAMPLER
      ? {}
      : { sampler: new ParentBasedSampler({ root: new TraceBudgetSampler(traceBudgetFrom(environment)) }) }),
  });
  holder[PROVIDER] = provider;
  // W3C trace context and baggage, AsyncLocalStorage context.
  provider.register();
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new UndiciInstrumentation(),
      // Fastify's own instrumentation makes the server span (continuing an incoming traceparent),
      // named by route; instrumentation-http would add a second span per request for nothing
      // (fetch and undici are covered above; the one outgoing http.request, the registry's long
      // poll, is untraced on purpose).
      new FastifyOtelInstrumentation(fastifyTracing),
    ],
  });
}

/**
 * Flushes the spans still batched and stops the provider, for at most `timeoutMs`: a stopping
 * service must not wait on a trace receiver that is stopping too (the supervisor's, on Ctrl-C).
 */
export async function stopTracing(timeoutMs = 1_000): Promise<void> {
  const running = holder[PROVIDER];
  holder[PROVIDER] = undefined;
  if (!running) return;
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
    timer.unref();
  });
  await Promise.race([running.shutdown().catch(() => undefined), bound]);
  clearTimeout(timer);
}
