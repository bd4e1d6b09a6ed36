import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { type LimiterMetrics, limiterMetrics } from '../resilience/concurrency-limiter.ts';

const buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface RpcMetrics {
  serverDuration: Histogram<'rpc_service' | 'rpc_method' | 'grpc_code'>;
  serverDeadline: Histogram<'rpc_service' | 'rpc_method'>;
  clientDuration: Histogram<'dependency' | 'rpc_method' | 'grpc_code'>;
  retries: Counter<'dependency' | 'rpc_method'>;
  bulkheadRejections: Counter<'dependency'>;
  breakerState: Gauge<'dependency'>;
  breakerTransitions: Counter<'dependency' | 'state'>;
  bulkheadInFlight: Gauge<'dependency'>;
  /** Instances of a dependency taken out of its client's pool (outlier ejection), by reason. */
  ejections: Counter<'dependency' | 'reason'>;
  /** TLS handshakes a mutual-TLS server refused, by OpenSSL's reason (no certificate, unknown CA, expired…). */
  tlsRefused: Counter<'reason'>;
  /** Adaptive concurrency limits (`concurrency_limit*{limiter}`), one per dependency when enabled. */
  limiter: LimiterMetrics;
}

/** RED for gRPC servers and clients, plus the resilience policies' state (USE: bulkhead saturation). */
export function createRpcMetrics(registry: Registry): RpcMetrics {
  return {
    limiter: limiterMetrics(registry),
    tlsRefused: new Counter({
      name: 'rpc_server_tls_refused_total',
      help: 'TLS handshakes the gRPC server refused (mutual TLS), by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    serverDuration: new Histogram({
      name: 'rpc_server_duration_seconds',
      help: 'gRPC server call duration by service, method and status code',
      labelNames: ['rpc_service', 'rpc_method', 'grpc_code'] as const,
      buckets,
      registers: [registry],
    }),
    serverDeadline: new Histogram({
      name: 'rpc_server_deadline_seconds',
      help: 'Time the caller allowed (grpc-timeout) for calls that carried a deadline',
      labelNames: ['rpc_service', 'rpc_method'] as const,
      buckets,
      registers: [registry],
    }),
    clientDuration: new Histogram({
      name: 'rpc_client_duration_seconds',
      help: 'gRPC client attempt duration by dependency, method and status code',
      labelNames: ['dependency', 'rpc_method', 'grpc_code'] as const,
      buckets,
      registers: [registry],
    }),
    retries: new Counter({
      name: 'rpc_client_retries_total',
      help: 'Retried gRPC client attempts',
      labelNames: ['dependency', 'rpc_method'] as const,
      registers: [registry],
    }),
    bulkheadRejections: new Counter({
      name: 'rpc_client_bulkhead_rejections_total',
      help: 'Calls rejected because the dependency bulkhead and its queue were full',
      labelNames: ['dependency'] as const,
      registers: [registry],
    }),
    bulkheadInFlight: new Gauge({
      name: 'rpc_client_bulkhead_in_flight',
      help: 'Calls holding a bulkhead slot',
      labelNames: ['dependency'] as const,
      registers: [registry],
    }),
    breakerState: new Gauge({
      name: 'rpc_client_breaker_state',
      help: 'Circuit breaker state per dependency: 0 closed, 1 open, 2 half-open',
      labelNames: ['dependency'] as const,
      registers: [registry],
    }),
    ejections: new Counter({
      name: 'rpc_client_ejections_total',
      help: 'Instances of a dependency ejected from the client pool: refused connections or failures in a row',
      labelNames: ['dependency', 'reason'] as const,
      registers: [registry],
    }),
    breakerTransitions: new Counter({
      name: 'rpc_client_breaker_transitions_total',
      help: 'Circuit breaker state changes per dependency',
      labelNames: ['dependency', 'state'] as const,
      registers: [registry],
    }),
  };
}
