import { type Recommendation, recommend } from '../domain/bought-together.ts';
import type { Reports } from './reports.port.ts';

const DAY_MS = 86_400_000;
const isoDay = (time: number) => new Date(time).toISOString().slice(0, 10);

/** Analytics' answers, each with the log position it reflects. */
export class AnalyticsQueries {
  readonly #reports: Reports;
  readonly #now: () => number;

  constructor(reports: Reports, now: () => number = Date.now) {
    this.#reports = reports;
    this.#now = now;
  }

  /** Sales between two days (inclusive); the last 30 days by default. */
  async sales(from?: string, to?: string) {
    const last = to ?? isoDay(this.#now());
    const first = from ?? isoDay(Date.parse(last) - 29 * DAY_MS);
    return { from: first, to: last, ...(await this.#reports.sales(first, last)) };
  }

  sagaOutcomes() {
    return this.#reports.sagaOutcomes();
  }

  async recommendations(
    customerId: string,
    limit: number,
  ): Promise<{ items: Recommendation[]; position: string | null }> {
    const inputs = await this.#reports.recommendationInputs(customerId, limit + 10);
    return {
      items: recommend(inputs.together, inputs.popular, inputs.owned, limit),
      position: inputs.position,
    };
  }
}
