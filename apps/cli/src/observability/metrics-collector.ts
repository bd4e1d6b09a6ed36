import { parsePrometheusText } from '@mercato/chassis/prometheus-text';
import { type RedPoint, redPoint, type Snapshot, snapshotOf } from './red-figures.ts';

export interface MetricsCollectorSettings {
  /** The services to scrape and where: name → base URL. */
  targets: () => Record<string, string>;
  intervalMs: number;
  /** Points kept per service. */
  points: number;
  /** Scraping stops this long after the last read (nobody is watching). */
  idleAfterMs: number;
}

export interface ServiceFigures {
  service: string;
  up: boolean;
  series: RedPoint[];
  latest: Omit<Snapshot, 'buckets'> | null;
}

/**
 * Scrapes every service's /metrics while someone reads the figures (the console), and keeps a short
 * time series of RED per service plus the latest breaker, backlog and lag figures. Scraping only
 * while watched keeps an idle platform from paying for it.
 */
export class MetricsCollector {
  readonly #settings: MetricsCollectorSettings;
  readonly #last = new Map<string, { at: number; snapshot: Snapshot }>();
  readonly #series = new Map<string, RedPoint[]>();
  readonly #up = new Map<string, boolean>();
  #timer: NodeJS.Timeout | undefined;
  #readAt = 0;
  #scraping: Promise<void> | undefined;

  constructor(settings: MetricsCollectorSettings) {
    this.#settings = settings;
  }

  /** The figures so far; starts scraping if it had stopped. */
  read(): ServiceFigures[] {
    this.#readAt = Date.now();
    if (!this.#timer) {
      this.#timer = setInterval(() => void this.scrape(), this.#settings.intervalMs);
      this.#timer.unref();
      void this.scrape();
    }
    return Object.keys(this.#settings.targets()).map((service) => {
      const last = this.#last.get(service)?.snapshot;
      return {
        service,
        up: this.#up.get(service) ?? false,
        series: this.#series.get(service) ?? [],
        latest: last ? { ...last, buckets: undefined } : null,
      };
    });
  }

  async scrape(): Promise<void> {
    if (Date.now() - this.#readAt > this.#settings.idleAfterMs) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      return;
    }
    this.#scraping ??= Promise.all(
      Object.entries(this.#settings.targets()).map(([service, url]) => this.#scrapeOne(service, url)),
    )
      .then(() => undefined)
      .finally(() => {
        this.#scraping = undefined;
      });
    await this.#scraping;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #scrapeOne(service: string, url: string): Promise<void> {
    let snapshot: Snapshot;
    try {
      const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2_000) });
      if (!response.ok) throw new Error(`status ${response.status}`);
      snapshot = snapshotOf(parsePrometheusText(await response.text()));
    } catch {
      this.#up.set(service, false);
      return;
    }
    const at = Date.now();
    this.#up.set(service, true);
    const before = this.#last.get(service);
    this.#last.set(service, { at, snapshot });
    if (!before) return;
    const series = this.#series.get(service) ?? [];
    series.push(redPoint(at, (at - before.at) / 1000, before.snapshot, snapshot));
    if (series.length > this.#settings.points) series.splice(0, series.length - this.#settings.points);
    this.#series.set(service, series);
  }
}
