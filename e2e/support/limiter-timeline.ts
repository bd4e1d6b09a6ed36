import { parsePrometheusText, sampleValue } from '@mercato/chassis/testing';

/** The gateway's adaptive limit for one dependency at one moment (from its /metrics). */
export interface LimiterPoint {
  /** Seconds since the timeline began. */
  at: number;
  limit?: number;
  inFlight?: number;
  refusals?: number;
  /** The latency the limit compares, in ms: without a queue (long) and now (short). */
  longMs?: number;
  shortMs?: number;
}

export interface LimiterTimeline {
  points: LimiterPoint[];
  stop: () => Promise<void>;
  /** One line per point: `+3s limit 20, in flight 20, refused 41, rtt 12/95 ms`. */
  describe: () => string;
}

/**
 * Reads the gateway's adaptive limit for calls to `limiter` once a second while a suite's load
 * runs, so that a read shed for long says how the limit moved (CI, 5 Dec: a rolling release's reads
 * shed for 20 s, with nothing in the log to say whether the limit sat at its floor or the calls
 * in flight never ended).
 */
export function limiterTimeline(gateway: string, limiter: string, everyMs = 1_000): LimiterTimeline {
  const points: LimiterPoint[] = [];
  const began = Date.now();
  let running = true;
  const scrape = async () => {
    const families = parsePrometheusText(await (await fetch(`${gateway}/metrics`)).text());
    const value = (name: string, labels: Record<string, string> = {}) =>
      sampleValue(families, name, { ...labels, limiter });
    const seconds = (name: string, measure: string) => {
      const found = value(name, { measure });
      return found === undefined ? undefined : Math.round(found * 1_000);
    };
    points.push({
      at: Math.round((Date.now() - began) / 100) / 10,
      limit: value('concurrency_limit'),
      inFlight: value('concurrency_limit_in_flight'),
      refusals: value('concurrency_limit_refusals_total'),
      longMs: seconds('concurrency_limit_rtt_seconds', 'long'),
      shortMs: seconds('concurrency_limit_rtt_seconds', 'short'),
    });
  };
  const loop = (async () => {
    while (running) {
      // A scrape that fails (the gateway busy past its timeout) leaves a gap, which says as much.
      await scrape().catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    points,
    stop: async () => {
      running = false;
      await loop;
    },
    describe: () =>
      points
        .map(
          (point) =>
            `+${point.at}s limit ${point.limit ?? '?'}, in flight ${point.inFlight ?? '?'}, refused ${point.refusals ?? '?'}, rtt ${point.longMs ?? '?'}/${point.shortMs ?? '?'} ms`,
        )
        .join('\n'),
  };
}
