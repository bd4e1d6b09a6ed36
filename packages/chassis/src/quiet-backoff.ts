/** How much longer than its base interval a safety net may wait once nothing has happened for a while. */
export const QUIET_BACKOFF_FACTOR = 8;

/**
 * The interval of a safety-net poll (a relay's, a bus member's, a read model's), for loops woken by
 * `LISTEN/NOTIFY` that poll only in case a notification was lost some other way than a lost
 * session (which wakes them at once): `baseMs` after a pass that found work, doubling with each
 * pass that found nothing, up to `baseMs × QUIET_BACKOFF_FACTOR`.
 *
 * A platform in use keeps the base interval (its passes find work); an idle one asks a little less
 * often each time (30 s, 1, 2, 4 minutes), so fifteen idle processes open no transaction for
 * minutes (issue 23: the idle platform's remaining cost was these polls). What it costs: a
 * notification lost while the platform is idle is picked up within 4 minutes instead of 30 s.
 */
export class QuietBackoff {
  readonly #baseMs: number;
  readonly #ceilingMs: number;
  #nextMs: number;

  constructor(baseMs: number) {
    this.#baseMs = baseMs;
    this.#ceilingMs = baseMs * QUIET_BACKOFF_FACTOR;
    this.#nextMs = baseMs;
  }

  /** A pass found nothing: the interval to wait now; the next quiet one waits twice as long. */
  quiet(): number {
    const wait = this.#nextMs;
    this.#nextMs = Math.min(this.#ceilingMs, wait * 2);
    return wait;
  }

  /** A pass found work: the next quiet wait is the base interval again. */
  busy(): void {
    this.#nextMs = this.#baseMs;
  }
}
