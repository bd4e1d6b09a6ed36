import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';

/** A deliberately bad version (a release's rollback, shown and tested): its share of failed calls and added latency. */
export interface InjectedFaults {
  /** Percent of calls answered INTERNAL (0–100). */
  errorPercent: number;
  /** Added to every call before it is handled (ms). */
  latencyMs: number;
}

/**
 * Makes this instance fail `errorPercent` of its gRPC calls with INTERNAL and delay each by
 * `latencyMs`, after the server's own interceptor, so its metrics, logs and spans record the
 * failures as any caller would see them. Set from MERCATO_FAULT_ERROR_PERCENT and
 * MERCATO_FAULT_LATENCY_MS, which `mercato build --label bad --fault error-percent=30` bakes into a
 * version; never set otherwise.
 */
export function faultInterceptor(faults: InjectedFaults, random: () => number = Math.random): Interceptor {
  return (next) => async (request) => {
    if (faults.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, faults.latencyMs));
    if (faults.errorPercent > 0 && random() * 100 < faults.errorPercent)
      throw new ConnectError(
        `injected fault: this version fails ${faults.errorPercent} % of calls (MERCATO_FAULT_ERROR_PERCENT)`,
        Code.Internal,
      );
    return next(request);
  };
}
