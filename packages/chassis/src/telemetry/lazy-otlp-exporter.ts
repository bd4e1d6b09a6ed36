import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

/**
 * The OTLP exporter, loaded on the first batch to export rather than at start: it is some 300
 * modules that a service not exporting traces never needs, and tracing must start synchronously,
 * before the service's own modules load.
 */
export class LazyOtlpExporter implements SpanExporter {
  #exporter: Promise<SpanExporter> | undefined;

  #load(): Promise<SpanExporter> {
    this.#exporter ??= import('@opentelemetry/exporter-trace-otlp-proto').then(
      ({ OTLPTraceExporter }) => new OTLPTraceExporter(),
    );
    return this.#exporter;
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.#load().then(
      (exporter) => exporter.export(spans, resultCallback),
      (error: Error) => resultCallback({ code: ExportResultCode.FAILED, error }),
    );
  }

  async shutdown(): Promise<void> {
    if (this.#exporter) await (await this.#exporter).shutdown();
  }

  async forceFlush(): Promise<void> {
    if (this.#exporter) await (await this.#exporter).forceFlush?.();
  }
}
