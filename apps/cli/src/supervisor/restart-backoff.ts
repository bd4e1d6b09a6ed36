/**
 * When the supervisor restarts a service that died. The delay climbs only for a crash loop — a
 * process that dies before it is ready, or that exits by itself (an uncaught error, a native
 * crash) within 10 s of starting — so a loop does not burn the laptop. A process that was ready
 * and was then killed from outside (`kill -9`, the OOM killer, the crash tests) is not looping:
 * it comes back after the first delay every time. When this climbed for every quick death, a
 * healthy payment-provider killed five times in 40 s under the crash test waited 30 s to return.
 * That kill is restarted at once, with no delay at all: nothing about the process suggests a loop,
 * and the first delay was a tenth of the restart's one-second budget.
 */
const backoffMs = [100, 500, 1_000, 2_000, 5_000, 10_000, 30_000] as const;
const STABLE_AFTER_MS = 10_000;

/** Signals another process sends; a process does not raise them on itself when it crashes. */
const fromOutside: ReadonlySet<NodeJS.Signals> = new Set(['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGHUP']);

export interface ProcessExit {
  /** Time from spawn to exit. */
  uptimeMs: number;
  /** Whether it had answered /readyz with 200. */
  becameReady: boolean;
  signal: NodeJS.Signals | null;
}

/**
 * The delay before the next start, and the count of quick failures to carry to the next exit,
 * given the count carried from the previous one.
 */
export function nextRestart(
  failuresBefore: number,
  exit: ProcessExit,
): { delayMs: number; failures: number } {
  const killedWhenReady = exit.becameReady && exit.signal !== null && fromOutside.has(exit.signal);
  if (killedWhenReady) return { delayMs: 0, failures: 1 };
  const failures = exit.uptimeMs >= STABLE_AFTER_MS ? 0 : failuresBefore;
  const delayMs = backoffMs[Math.min(failures, backoffMs.length - 1)] as number;
  return { delayMs, failures: failures + 1 };
}
