/** One request of a steady load: when it was sent, when it ended, how. */
export interface Outcome {
  sentAt: number;
  endedAt: number;
  status: number;
}

export interface EdgeLoad {
  outcomes: Outcome[];
  stop: () => Promise<void>;
}

/**
 * Sends `request` at a steady rate (without waiting for answers, as independent clients would)
 * until stopped. A request that cannot connect or times out counts as status 0.
 */
export function steadyLoad(request: () => Promise<Response>, perSecond: number): EdgeLoad {
  const outcomes: Outcome[] = [];
  const inFlight = new Set<Promise<void>>();
  const timer = setInterval(() => {
    const sentAt = Date.now();
    const done = request()
      .then(async (response) => {
        await response.arrayBuffer();
        return response.status;
      })
      .catch(() => 0)
      .then((status) => {
        outcomes.push({ sentAt, endedAt: Date.now(), status });
      });
    inFlight.add(done);
    void done.finally(() => inFlight.delete(done));
  }, 1_000 / perSecond);
  return {
    outcomes,
    stop: async () => {
      clearInterval(timer);
      await Promise.all(inFlight);
    },
  };
}

export interface ErrorWindow {
  requests: number;
  errors: number;
  /** When the last failed request ended, relative to `reference` (ms; negative: before it). */
  lastErrorAfterMs: number | null;
  /** When the last request that failed was sent, relative to `reference` (ms; negative: before it). */
  lastFailedSentAfterMs: number | null;
  /** The slowest successful request while the load ran (ms). */
  slowestMs: number;
  statuses: Record<string, number>;
}

/** Summarises a load's outcomes around a moment (e.g. when a restarted service was ready again). */
export function errorWindow(outcomes: readonly Outcome[], reference: number): ErrorWindow {
  const failed = outcomes.filter((outcome) => outcome.status !== 200);
  const statuses: Record<string, number> = {};
  for (const outcome of outcomes) statuses[outcome.status] = (statuses[outcome.status] ?? 0) + 1;
  const lastError = failed.reduce<number | null>(
    (latest, outcome) => (latest === null || outcome.endedAt > latest ? outcome.endedAt : latest),
    null,
  );
  const lastFailedSent = failed.reduce<number | null>(
    (latest, outcome) => (latest === null || outcome.sentAt > latest ? outcome.sentAt : latest),
    null,
  );
  return {
    requests: outcomes.length,
    errors: failed.length,
    lastErrorAfterMs: lastError === null ? null : lastError - reference,
    lastFailedSentAfterMs: lastFailedSent === null ? null : lastFailedSent - reference,
    slowestMs: Math.max(
      0,
      ...outcomes.filter((o) => o.status === 200).map((outcome) => outcome.endedAt - outcome.sentAt),
    ),
    statuses,
  };
}
