import { setTimeout as sleep } from 'node:timers/promises';
import {
  BrokenCircuitError,
  bulkhead,
  CircuitState,
  circuitBreaker,
  ExponentialBackoff,
  fullJitterGenerator,
  handleWhen,
  type IPolicy,
  retry,
  TaskCancelledError,
  TimeoutStrategy,
  timeout,
  wrap,
} from 'cockatiel';
import type { RpcMetrics } from '../grpc/rpc-metrics.ts';
import type { Logger } from '../logging/create-logger.ts';
import { ConcurrencyLimiter, LimitExceededError, type LimitPermit } from './concurrency-limiter.ts';
import { WindowedBreaker } from './windowed-breaker.ts';

/** ARCHITECTURE §6 defaults; every field can be overridden per service (config) or dependency. */
export interface PolicySettings {
  /** Per attempt; an inherited deadline can only shorten it. */
  timeoutMs: number;
  retryAttempts: number;
  retryInitialDelayMs: number;
  retryMaxDelayMs: number;
  breakerThreshold: number;
  breakerWindowMs: number;
  /** Open time after the circuit opens; doubled while trial calls fail, up to `breakerMaxOpenMs`. */
  breakerOpenMs: number;
  breakerMaxOpenMs: number;
  /** Open time after a trial call refused at connect (nothing listening yet): probe again soon. */
  breakerRefusedProbeMs: number;
  breakerTrialCalls: number;
  bulkheadLimit: number;
  bulkheadQueue: number;
  /**
   * `fixed`: the bulkhead above, with its queue. `adaptive`: no queue; an adaptive concurrency
   * limit (gradient, see adaptive-limit.ts) between `limitMin` and `limitMax` admits a call or
   * refuses it at once, so overload is answered now instead of after a wait in line.
   */
  concurrencyLimit: 'fixed' | 'adaptive';
  limitInitial: number;
  limitMin: number;
  limitMax: number;
  /**
   * How long an idempotent call keeps trying a dependency that refuses connections or whose
   * circuit is open (within the caller's deadline): a restart shorter than this is latency, not errors.
   */
  reconnectWaitMs: number;
}

export const defaultPolicySettings: PolicySettings = {
  timeoutMs: 1_000,
  retryAttempts: 3,
  retryInitialDelayMs: 1_000,
  retryMaxDelayMs: 10_000,
  breakerThreshold: 5,
  breakerWindowMs: 10_000,
  // A trial that lands just before a restarted dependency is ready fails and keeps the circuit open
  // this long: short, so clients see a restart end within about half a second of its readiness.
  breakerOpenMs: 500,
  breakerMaxOpenMs: 30_000,
  breakerRefusedProbeMs: 250,
  breakerTrialCalls: 3,
  bulkheadLimit: 32,
  bulkheadQueue: 64,
  concurrencyLimit: 'fixed',
  limitInitial: 32,
  // Gradient2's floor: a gateway serving tens of reads a second through a CPU stall of a few hundred
  // ms (a process starting on a 2-core laptop) needs 20 in flight; at 8 it refused them (CI, 3 Dec).
  limitMin: 20,
  limitMax: 256,
  reconnectWaitMs: 2_000,
};

/** How far a dependency's latency may rise over its no-queue level before its limit shrinks (Gradient2's). */
const DEPENDENCY_RTT_TOLERANCE = 1.5;

/** Time an attempt needs at least for a reconnect to be worth it. */
const MIN_ATTEMPT_MS = 50;

/** 50, 100, 200, 250, 250 … ms, each with full jitter over its upper half. */
const reconnectPause = (reconnect: number) => {
  const ceiling = Math.min(250, 50 * 2 ** reconnect);
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
};

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CallOptions {
  /** Only idempotent calls are retried. */
  idempotent: boolean;
  /** For metrics and logs. */
  method: string;
  /** Overrides `settings.retryAttempts` for this call (a route's own retry policy). */
  retryAttempts?: number;
  /** What is left of the caller's deadline, if it has one. */
  remainingMs?: () => number | undefined;
}

export interface DependencyPolicy {
  readonly dependency: string;
  /** Runs `call` under bulkhead → retry (idempotent only) → breaker → timeout. */
  execute: <T>(call: (signal: AbortSignal) => Promise<T>, options: CallOptions) => Promise<T>;
  breakerState: () => BreakerState;
}

const stateNames: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'open',
};
const stateValues: Record<BreakerState, number> = { closed: 0, open: 1, 'half-open': 2 };

export interface DependencyPolicyOptions {
  dependency: string;
  settings: PolicySettings;
  /** Is this failure the dependency's fault (counts against the breaker)? */
  isFailure: (error: Error) => boolean;
  /** May the same call succeed if repeated (retried when idempotent)? */
  isTransient: (error: Error) => boolean;
  /**
   * Did the call fail before it reached the dependency (connection refused)? Such failures of
   * idempotent calls, and calls refused by the open circuit, are tried again after a short jittered
   * pause for as long as the caller's deadline allows, so that a dependency restarting in a second
   * or two shows as latency, not as errors.
   */
  neverReached: (error: Error) => boolean;
  /**
   * Did the dependency refuse the call because it is overloaded (it shed it before doing any work)?
   * Such a refusal is neither a breaker failure nor retried: load shedding must not open circuits.
   */
  shedByDependency?: (error: Error) => boolean;
  /** Did the dependency (or the deadline it was given) time the call out? A drop for the limit. */
  timedOut?: (error: Error) => boolean;
  logger: Logger;
  metrics: RpcMetrics;
}

/**
 * One policy per dependency, shared by all calls to it, so its breaker and bulkhead see all the
 * traffic. Built from cockatiel's policies; only the windowed breaker is ours.
 */
export function createDependencyPolicy(options: DependencyPolicyOptions): DependencyPolicy {
  const { dependency, settings, logger, metrics } = options;
  const labels = { dependency };
  const isTimeout = (error: Error) => error instanceof TaskCancelledError;
  const shed = (error: Error) => options.shedByDependency?.(error) ?? false;
  const limiter =
    settings.concurrencyLimit === 'adaptive'
      ? new ConcurrencyLimiter({
          name: dependency,
          settings: {
            initial: settings.limitInitial,
            min: settings.limitMin,
            max: settings.limitMax,
            rttTolerance: DEPENDENCY_RTT_TOLERANCE,
          },
          metrics: metrics.limiter,
        })
      : undefined;

  const isolation = bulkhead(settings.bulkheadLimit, settings.bulkheadQueue);
  const windowed = new WindowedBreaker({
    threshold: settings.breakerThreshold,
    windowMs: settings.breakerWindowMs,
    trialCalls: settings.breakerTrialCalls,
    openMs: settings.breakerOpenMs,
    maxOpenMs: Math.max(settings.breakerOpenMs, settings.breakerMaxOpenMs),
    refused: (reason) => 'error' in reason && options.neverReached(reason.error),
    refusedProbeMs: settings.breakerRefusedProbeMs,
  });
  const breaker = circuitBreaker(
    handleWhen((error) => isTimeout(error) || (options.isFailure(error) && !shed(error))),
    { halfOpenAfter: windowed.halfOpenAfter, breaker: windowed },
  );
  const retryPolicy = (attempts: number) =>
    retry(
      // What never reached the dependency is retried by the reconnect loop in execute(), sooner.
      handleWhen(
        (error) =>
          isTimeout(error) || (options.isTransient(error) && !options.neverReached(error) && !shed(error)),
      ),
      {
        maxAttempts: Math.max(0, attempts - 1),
        backoff: new ExponentialBackoff({
          initialDelay: settings.retryInitialDelayMs,
          maxDelay: settings.retryMaxDelayMs,
          exponent: 2,
          generator: fullJitterGenerator,
        }),
      },
    );
  const attemptTimeout = timeout(settings.timeoutMs, TimeoutStrategy.Aggressive);

  metrics.breakerState.set(labels, 0);
  breaker.onStateChange((state) => {
    const name = stateNames[state];
    metrics.breakerState.set(labels, stateValues[name]);
    metrics.breakerTransitions.inc({ dependency, state: name });
    const log = name === 'closed' ? logger.info.bind(logger) : logger.warn.bind(logger);
    log({ dependency, breaker_state: name }, `circuit to ${dependency} is ${name}`);
  });
  isolation.onReject(() => {
    metrics.bulkheadRejections.inc(labels);
    logger.warn({ dependency }, `bulkhead for ${dependency} is full; call rejected`);
  });

  // With an adaptive limit the limiter admits calls (in execute) and there is no bulkhead queue.
  const admission: IPolicy[] = limiter ? [] : [isolation];
  const once = wrap(...admission, breaker, attemptTimeout);
  // The same bulkhead, breaker and timeout under every retry count, so overrides share their state.
  const byAttempts = new Map<number, IPolicy>([[1, once]]);
  const withAttempts = (attempts: number): IPolicy => {
    let policy = byAttempts.get(attempts);
    if (!policy) {
      policy = wrap(...admission, retryPolicy(attempts), breaker, attemptTimeout);
      byAttempts.set(attempts, policy);
    }
    return policy;
  };

  return {
    dependency,
    breakerState: () => stateNames[breaker.state],
    async execute<T>(call: (signal: AbortSignal) => Promise<T>, callOptions: CallOptions): Promise<T> {
      const attempts = Math.max(1, Math.floor(callOptions.retryAttempts ?? settings.retryAttempts));
      const policy = callOptions.idempotent ? withAttempts(attempts) : once;
      const run = () =>
        admitted((count) =>
          policy.execute(({ signal }) => {
            const attempt = count();
            if (attempt > 1) {
              metrics.retries.inc({ dependency, rpc_method: callOptions.method });
              logger.info({ dependency, rpc_method: callOptions.method, attempt }, `retrying ${dependency}`);
            }
            if (!limiter)
              metrics.bulkheadInFlight.set(labels, settings.bulkheadLimit - isolation.executionSlots);
            return call(signal);
            // A signal of its own: without one cockatiel hangs every call's timeout on a signal shared
            // by the whole process, which warns (MaxListenersExceeded) once 11 calls are in flight.
          }, new AbortController().signal),
        );
      if (!callOptions.idempotent) return run();
      const waitEnds = Date.now() + settings.reconnectWaitMs;
      for (let reconnect = 0; ; reconnect += 1) {
        try {
          return await run();
        } catch (error) {
          const pause = reconnectPause(reconnect);
          const left = Math.min(
            waitEnds - Date.now(),
            callOptions.remainingMs?.() ?? Number.POSITIVE_INFINITY,
          );
          // A call already waiting out a restart that finds the limit taken (by the other waiters'
          // attempts, or by calls to the dependency now back) waits on within its time, rather than
          // being refused as overloaded after it was admitted.
          const reconnectable =
            error instanceof BrokenCircuitError ||
            options.neverReached(error as Error) ||
            (reconnect > 0 && error instanceof LimitExceededError);
          if (!reconnectable || left < pause + MIN_ATTEMPT_MS) throw error;
          // Counted, not logged: at full traffic a restart would log hundreds of these a second.
          metrics.retries.inc({ dependency, rpc_method: callOptions.method });
          await sleep(pause);
        }
      }
    },
  };

  /**
   * One pass through retries, breaker and timeouts, under the adaptive limit when there is one. The
   * permit is held for the pass only: a call waiting out a restart between passes (the reconnect
   * loop above) is not in flight at the dependency, and held permits would refuse new calls and
   * then teach the limit the wait as latency. A pass that needed retries gives no latency sample
   * (its time includes the backoff), unless it ended in a drop.
   */
  async function admitted<T>(pass: (count: () => number) => Promise<T>): Promise<T> {
    let attempts = 0;
    const count = () => {
      attempts += 1;
      return attempts;
    };
    if (!limiter) return pass(count);
    const permit = limiter.tryAcquire();
    if (!permit) throw new LimitExceededError(dependency);
    try {
      const result = await pass(count);
      if (attempts > 1) permit.ignore();
      else permit.success();
      return result;
    } catch (error) {
      settle(permit, error as Error);
      throw error;
    }
  }

  /**
   * How a failed call moves the limit: a timeout is a drop (the queue it stood in is what the limit
   * is there to prevent); what says nothing about the dependency's latency (its circuit open, a
   * connection refused, its own load shedding) is no sample; any other answer is a latency sample.
   */
  function settle(permit: LimitPermit, error: Error) {
    if (isTimeout(error) || options.timedOut?.(error)) permit.dropped();
    else if (error instanceof BrokenCircuitError || options.neverReached(error) || shed(error))
      permit.ignore();
    else permit.success();
  }
}
