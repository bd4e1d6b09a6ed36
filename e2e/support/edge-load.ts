/** One request of a steady load: when it was sent, when it ended, how. */
export interface Outcome {
  sentAt: number;
  endedAt: number;
  /** The final answer's status (0: no answer: could not connect, or timed out). */
  status: number;
  /** The problem's `code` when the answer was a problem document. */
  code?: string;
  /** How many times the edge shed it (503 `*.OVERLOADED` + Retry-After) before that answer. */
  shed?: number;
  /** The gateway's id for the final answer (`x-request-id`): finds its log lines. */
  requestId?: string;
}

export interface EdgeLoad {
  outcomes: Outcome[];
  stop: () => Promise<void>;
  /** Requests sent a second from the start until `stop` (or now): what was really offered. */
  offeredPerSecond: () => number;
}

export interface SteadyLoadOptions {
  /**
   * Ask again, as a well-behaved client does, when the edge sheds a request: a 503 whose problem
   * code ends in `.OVERLOADED` (an adaptive limit refused it before any service saw it) with a
   * Retry-After, sent again after that many seconds and a jittered backoff (`backoffMs`) while
   * the first send is less than this many ms ago. Nothing else is asked again: a 503 `*.CIRCUIT_OPEN`, `*.UNAVAILABLE` or a lost connection
   * is what a release that drops requests answers, and stays a failure.
   *
   * The suites that put a whole platform under load on a 2-core machine use it: a second's CPU
   * stall there (a process starting, another suite's work) brings the gateway's limits to their
   * floor, and it sheds for a moment (CI, 3 Dec: tens of reads in the rolling release, 5 while
   * catalog autoscaled; most refused within half a second of being sent).
   * Shedding is the limit working; a release losing requests is what those suites look for. The
   * outcome keeps how often each was shed, and the suites print it.
   */
  shedPatienceMs?: number;
}

/**
 * How many requests are due and not yet sent, `elapsedMs` into a load of `perSecond`: a tick that
 * comes late (the client's own process waited for a core) sends what the missed ticks would have,
 * so the load offered is the rate asked for, not what the client's timer managed.
 */
export function dueSends(elapsedMs: number, perSecond: number, sent: number): number {
  return Math.max(0, Math.floor((elapsedMs * perSecond) / 1_000) - sent);
}

/**
 * Sends `request` at a steady rate (without waiting for answers, as independent clients would)
 * until stopped. A request that cannot connect or times out counts as status 0.
 */
export function steadyLoad(
  request: () => Promise<Response>,
  perSecond: number,
  options: SteadyLoadOptions = {},
): EdgeLoad {
  const outcomes: Outcome[] = [];
  const inFlight = new Set<Promise<void>>();
  const startedAt = Date.now();
  let stoppedAt: number | undefined;
  let sent = 0;
  const timer = setInterval(() => {
    const sentAt = Date.now();
    for (let due = dueSends(sentAt - startedAt, perSecond, sent); due > 0; due -= 1) {
      sent += 1;
      const done = send(request, sentAt, options.shedPatienceMs ?? 0).then((outcome) => {
        outcomes.push(outcome);
      });
      inFlight.add(done);
      void done.finally(() => inFlight.delete(done));
    }
  }, 1_000 / perSecond);
  return {
    outcomes,
    stop: async () => {
      clearInterval(timer);
      stoppedAt ??= Date.now();
      await Promise.all(inFlight);
    },
    offeredPerSecond: () => (sent * 1_000) / Math.max(1, (stoppedAt ?? Date.now()) - startedAt),
  };
}

/**
 * How long the suites under load keep asking a read the edge sheds. 30 s was not enough once (CI,
 * 7 Dec): the machine starved, a catalog read's round trip grew to 0.9 s, the gateway's limit for
 * catalog fell to 20 and it shed reads from 4 to 27 s into a release; 29 reads gave up after 41 s,
 * sent again every time the edge said to. The limit was back at 200 four seconds later.
 */
const SHED_PATIENCE_MS = 60_000;

/** One answer of the edge, as much of it as the loads look at. */
export interface EdgeAnswer {
  /** 0 when the request could not connect or timed out. */
  status: number;
  body: string;
  code?: string;
  retryAfter: number;
  requestId?: string;
}

/**
 * One request as a well-behaved client sends it: asked again while the edge sheds it (a 503
 * `*.OVERLOADED` with Retry-After, after `backoffMs`) and less than `shedPatienceMs` have passed
 * since `sentAt`. The last answer, and how often it was shed.
 */
export async function askPatiently(
  request: () => Promise<Response>,
  shedPatienceMs = SHED_PATIENCE_MS,
  sentAt = Date.now(),
): Promise<{ answer: EdgeAnswer; shed: number }> {
  let shed = 0;
  for (;;) {
    const answer: EdgeAnswer = await request()
      .then(async (response) => {
        const body = await response.text();
        const code = problemCode(response, body);
        const requestId = response.headers.get('x-request-id') ?? undefined;
        return {
          status: response.status,
          body,
          ...(code ? { code } : {}),
          retryAfter: Number(response.headers.get('retry-after') ?? Number.NaN),
          ...(requestId ? { requestId } : {}),
        };
      })
      .catch(() => ({ status: 0, body: '', retryAfter: Number.NaN }));
    const wasShed =
      answer.status === 503 &&
      answer.code?.endsWith('.OVERLOADED') === true &&
      Number.isFinite(answer.retryAfter);
    const pause = wasShed ? backoffMs(answer.retryAfter, shed) : 0;
    if (!wasShed || Date.now() + pause >= sentAt + shedPatienceMs) return { answer, shed };
    shed += 1;
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}

async function send(
  request: () => Promise<Response>,
  sentAt: number,
  shedPatienceMs: number,
): Promise<Outcome> {
  const { answer, shed } = await askPatiently(request, shedPatienceMs, sentAt);
  return {
    sentAt,
    endedAt: Date.now(),
    status: answer.status,
    ...(answer.code ? { code: answer.code } : {}),
    ...(shed > 0 ? { shed } : {}),
    ...(answer.requestId ? { requestId: answer.requestId } : {}),
  };
}

/**
 * How long a client waits before asking again after its `shed`-th refusal (0 for the first): the
 * Retry-After, plus a random share of a backoff that doubles with each refusal (1, 2, 4, then 8 s at
 * most), as AWS's "exponential backoff and jitter" has it. Asking again after exactly Retry-After
 * sent every shed read back in the same second, adding each second's refusals to the next
 * second's load: through a long CPU stall (CI, 5 Dec: a rolling release's reads shed for 20 s) the
 * retries alone kept the edge at its limit.
 */
export function backoffMs(
  retryAfterSeconds: number,
  shed: number,
  random: () => number = Math.random,
): number {
  const backoff = 1_000 * 2 ** Math.min(shed, 3);
  return Math.max(0, retryAfterSeconds) * 1_000 + Math.round(random() * backoff);
}

/** How many of a load's requests the edge shed at least once, and how many sheds in all. */
export function shedCount(outcomes: readonly Outcome[]): { requests: number; sheds: number } {
  const shed = outcomes.filter((outcome) => (outcome.shed ?? 0) > 0);
  return { requests: shed.length, sheds: shed.reduce((sum, outcome) => sum + (outcome.shed ?? 0), 0) };
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
  /** Requests the edge shed and that were asked again (`SteadyLoadOptions.shedPatienceMs`). */
  shed: number;
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
    shed: shedCount(outcomes).requests,
  };
}

/** The load of the suites that run a platform under load: shed reads are asked again for up to 60 s. */
export const asksAgainWhenShed: SteadyLoadOptions = { shedPatienceMs: SHED_PATIENCE_MS };
