import type { Logger } from '@mercato/chassis/logging';
import type { SupervisorConfig } from '../config.ts';
import { LogStore } from '../observability/log-store.ts';
import { MetricsCollector } from '../observability/metrics-collector.ts';
import { SpanStore } from '../observability/span-store.ts';
import {
  type SupervisorApi,
  type SupervisorApiSettings,
  startSupervisorApi,
} from '../supervisor-api/supervisor-api.ts';
import type { LogOutput } from './log-output.ts';
import type { Registry } from './registry.ts';
import type { ReleaseController } from './releases/release-controller.ts';
import type { ServiceProcess } from './service-process.ts';

const MB = 1024 * 1024;

export interface ObservabilityHub {
  api: SupervisorApi;
  /** What every service is started with so that its spans reach the store. */
  serviceEnvironment: Record<string, string>;
  stop: () => Promise<void>;
}

/**
 * Where the supervisor's API listens: configured, or the port just below the services', or one the
 * system picks (`MERCATO_PORTS=dynamic`).
 */
export const supervisorPort = (config: SupervisorConfig): number =>
  config.MERCATO_SUPERVISOR_PORT || (config.MERCATO_PORTS === 'dynamic' ? 0 : config.MERCATO_PORT_BASE - 1);

/** The log store fed from the merged output; kept from the first line on, before the API is up. */
export function keepLogs(config: SupervisorConfig, output: LogOutput): LogStore {
  const logs = new LogStore({ maxBytes: config.MERCATO_LOG_STORE_MB * MB });
  output.keepLines((service, line) => logs.add(service, line));
  return logs;
}

/**
 * The supervisor's observability for the console: the span store (tail-sampled, decided every
 * 500 ms while traces wait for it), the log store, RED figures scraped while someone looks, and the API that serves them.
 */
export async function startObservability(options: {
  config: SupervisorConfig;
  logs: LogStore;
  logger: Logger;
  adminToken: string;
  /** identity's JWKS, wherever its instance is now (undefined while none runs). */
  jwksUrl: () => string | undefined;
  processes: () => readonly ServiceProcess[];
  registry: Registry;
  releases: ReleaseController;
  graceMs: number;
  migration?: SupervisorApiSettings['migration'];
}): Promise<ObservabilityHub> {
  const { config } = options;
  const spans = new SpanStore({
    maxBytes: config.MERCATO_TRACE_STORE_MB * MB,
    decisionWaitMs: 2_000,
    slowMs: config.MERCATO_TRACE_SLOW_MS,
    sampleRate: config.MERCATO_TRACE_SAMPLE_PERCENT / 100,
    onPending: () => decideSoon(),
  });
  // Decided every 500 ms while traces wait; an idle platform sends no spans and sets no timer.
  let deciding: NodeJS.Timeout | undefined;
  const decideSoon = () => {
    if (deciding || spans.pending === 0) return;
    deciding = setTimeout(() => {
      deciding = undefined;
      spans.decide();
      decideSoon();
    }, 500);
    deciding.unref();
  };
  const metrics = new MetricsCollector({
    targets: () => Object.fromEntries(options.processes().map((process) => [process.name, process.url])),
    intervalMs: 2_000,
    points: 300,
    idleAfterMs: 60_000,
  });
  const api = await startSupervisorApi({
    port: supervisorPort(config),
    adminToken: options.adminToken,
    jwksUrl: options.jwksUrl,
    logger: options.logger,
    processes: options.processes,
    registry: options.registry,
    releases: options.releases,
    spans,
    logs: options.logs,
    metrics,
    graceMs: options.graceMs,
    ...(options.migration ? { migration: options.migration } : {}),
  });
  // A collector the user named (Jaeger, Tempo) wins; the console then shows no traces.
  const exportToStore = config.MERCATO_TRACES && !process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  return {
    api,
    serviceEnvironment: exportToStore
      ? {
          OTEL_EXPORTER_OTLP_ENDPOINT: api.url,
          OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer%20${options.adminToken}`,
          // The SDK's default is 5 s: a trace would reach the console that much later.
          OTEL_BSP_SCHEDULE_DELAY: '500',
        }
      : {},
    stop: async () => {
      clearTimeout(deciding);
      metrics.stop();
      await api.close();
    },
  };
}
