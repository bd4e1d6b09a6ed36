import { defaultPolicySettings, type PolicySettings } from './dependency-policy.ts';

/** The `RPC_*` variables of `rpcClientConfigShape`, as a service's config holds them. */
export interface RpcClientConfig {
  RPC_TIMEOUT_MS?: number;
  RPC_RETRY_ATTEMPTS?: number;
  RPC_RETRY_INITIAL_DELAY_MS?: number;
  RPC_RETRY_MAX_DELAY_MS?: number;
  RPC_BREAKER_THRESHOLD?: number;
  RPC_BREAKER_WINDOW_MS?: number;
  RPC_BREAKER_OPEN_MS?: number;
  RPC_BREAKER_MAX_OPEN_MS?: number;
  RPC_BREAKER_REFUSED_PROBE_MS?: number;
  RPC_BREAKER_TRIAL_CALLS?: number;
  RPC_BULKHEAD_LIMIT?: number;
  RPC_BULKHEAD_QUEUE?: number;
  RPC_RECONNECT_WAIT_MS?: number;
  RPC_CONCURRENCY_LIMIT?: 'fixed' | 'adaptive';
  RPC_LIMIT_INITIAL?: number;
  RPC_LIMIT_MIN?: number;
  RPC_LIMIT_MAX?: number;
}

export function policySettingsFrom(config: RpcClientConfig): PolicySettings {
  const d = defaultPolicySettings;
  return {
    timeoutMs: config.RPC_TIMEOUT_MS ?? d.timeoutMs,
    retryAttempts: config.RPC_RETRY_ATTEMPTS ?? d.retryAttempts,
    retryInitialDelayMs: config.RPC_RETRY_INITIAL_DELAY_MS ?? d.retryInitialDelayMs,
    retryMaxDelayMs: config.RPC_RETRY_MAX_DELAY_MS ?? d.retryMaxDelayMs,
    breakerThreshold: config.RPC_BREAKER_THRESHOLD ?? d.breakerThreshold,
    breakerWindowMs: config.RPC_BREAKER_WINDOW_MS ?? d.breakerWindowMs,
    breakerOpenMs: config.RPC_BREAKER_OPEN_MS ?? d.breakerOpenMs,
    breakerMaxOpenMs: config.RPC_BREAKER_MAX_OPEN_MS ?? d.breakerMaxOpenMs,
    breakerRefusedProbeMs: config.RPC_BREAKER_REFUSED_PROBE_MS ?? d.breakerRefusedProbeMs,
    breakerTrialCalls: config.RPC_BREAKER_TRIAL_CALLS ?? d.breakerTrialCalls,
    bulkheadLimit: config.RPC_BULKHEAD_LIMIT ?? d.bulkheadLimit,
    bulkheadQueue: config.RPC_BULKHEAD_QUEUE ?? d.bulkheadQueue,
    reconnectWaitMs: config.RPC_RECONNECT_WAIT_MS ?? d.reconnectWaitMs,
    concurrencyLimit: config.RPC_CONCURRENCY_LIMIT ?? d.concurrencyLimit,
    limitInitial: config.RPC_LIMIT_INITIAL ?? d.limitInitial,
    limitMin: config.RPC_LIMIT_MIN ?? d.limitMin,
    limitMax: config.RPC_LIMIT_MAX ?? d.limitMax,
  };
}
