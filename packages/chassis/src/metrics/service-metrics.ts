import { performance } from 'node:perf_hooks';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { createRpcMetrics, type RpcMetrics } from '../grpc/rpc-metrics.ts';
import { droppedLogLines } from '../logging/stdout-destination.ts';

/** Buckets in seconds, from sub-millisecond cache hits to the 5 s edge deadline. */
const durationBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface ServiceMetrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  rpc: RpcMetrics;
}

/**
 * One registry per service instance (never prom-client's global one), so tests can run several
 * services in one process without their series mixing.
 */
export function createServiceMetrics(service: string): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  // USE: heap, GC, event-loop lag, handles. The lag is sampled every 500 ms rather than prom-client's
  // 10 ms: a 10 ms timer wakes an idle process 100 times a second, which was most of what an idle
  // service cost (bench/idle); busy time itself is nodejs_eventloop_utilization_ratio below.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 500 });

  let lastUtilization = performance.eventLoopUtilization();
  new Gauge({
    name: 'nodejs_eventloop_utilization_ratio',
    help: 'Share of time the event loop was busy since the previous scrape (0..1)',
    registers: [registry],
    collect() {
      const now = performance.eventLoopUtilization();
      this.set(performance.eventLoopUtilization(now, lastUtilization).utilization);
      lastUtilization = now;
    },
  });

  let droppedSeen = 0;
  new Counter({
    name: 'log_lines_dropped_total',
    help: 'Log lines dropped because the reader of stdout (the supervisor, a container runtime) was more than 4 MiB behind',
    registers: [registry],
    collect() {
      const dropped = droppedLogLines();
      if (dropped > droppedSeen) this.inc(dropped - droppedSeen);
      droppedSeen = dropped;
    },
  });

  // RED: rate and errors are the histogram's _count by status_code; duration is the histogram.
  const httpDuration = new Histogram({
    name: 'http_server_request_duration_seconds',
    help: 'HTTP server request duration by method, route template and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: durationBuckets,
    registers: [registry],
  });

  return { registry, httpDuration, rpc: createRpcMetrics(registry) };
}
