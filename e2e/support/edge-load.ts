/** One request of a steady load: when it was sent, when it ended, how. */
export interface Outcome {
  sentAt: number;
  endedAt: number;
  status: number;
  /** The problem's `code` when the answer was a problem document. */
  code?: string;
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
        const body = await response.text();
        return { status: response.status, code: problemCode(response, body) };
      })
      .catch(() => ({ status: 0, code: undefined }))
      .then(({ status, code }) => {
        outcomes.push({ sentAt, endedAt: Date.now(), status, ...(code ? { code } : {}) });
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

function problemCode(response: Response, body: string): string | undefined {
  if (!response.headers.get('content-type')?.includes('problem+json')) return undefined;
  try {
    const code = (JSON.parse(body) as { code?: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
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
  /** Answers by status, and by status and problem code for failures (`503 PRICING.CIRCUIT_OPEN`). */
  statuses: Record<string, number>;
}

/** Summarises a load's outcomes around a moment (e.g. when a restarted service was ready again). */
export function errorWindow(outcomes: readonly Outcome[], reference: number): ErrorWindow {
  const failed = outcomes.filter((outcome) => outcome.status !== 200);
  const statuses: Record<string, number> = {};
  for (const outcome of outcomes) {
    const key = outcome.code ? `${outcome.status} ${outcome.code}` : String(outcome.status);
    statuses[key] = (statuses[key] ?? 0) + 1;
  }
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
