import { AppError, notFound } from '@mercato/chassis';
import type { OrderSummary } from '../domain/order-summary.ts';
import type { OrderSummaries, SummaryListQuery, SummaryPage } from './order-summaries.port.ts';

/** How long a read waits for the read model to reach the version it asked for. */
export const MAX_CONSISTENCY_WAIT_MS = 3_000;

export interface Consistency {
  orderId: string;
  minVersion: number;
}

/** The read side's queries, each answered with the log position it reflects. */
export class OrderViewQueries {
  readonly #summaries: OrderSummaries;

  constructor(summaries: OrderSummaries) {
    this.#summaries = summaries;
  }

  async summary(orderId: string, minVersion: number, waitMs: number) {
    if (minVersion > 0) await this.#awaitOrder({ orderId, minVersion }, waitMs);
    const { summary, position } = await this.#summaries.get(orderId);
    if (!summary) throw notFound('ORDER_VIEW.NOT_FOUND', `No order ${orderId} in order-view`);
    return { summary, position };
  }

  async list(
    query: SummaryListQuery & { consistentWith?: Consistency | undefined },
    waitMs: number,
  ): Promise<SummaryPage> {
    if (query.consistentWith) await this.#awaitOrder(query.consistentWith, waitMs);
    return this.#summaries.list(query);
  }

  /** Read-your-writes: waits until the order is in the read model at `minVersion` or later. */
  async #awaitOrder(consistency: Consistency, waitMs: number): Promise<void> {
    const deadline = Date.now() + Math.min(waitMs, MAX_CONSISTENCY_WAIT_MS);
    let seen: OrderSummary | undefined;
    for (;;) {
      seen = (await this.#summaries.get(consistency.orderId)).summary;
      if (seen && seen.orderVersion >= consistency.minVersion) return;
      if (Date.now() >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new AppError({
      code: 'ORDER_VIEW.NOT_CAUGHT_UP',
      kind: 'unavailable',
      retryAfterSeconds: 1,
      message: `order-view has not caught up with order ${consistency.orderId} at version ${consistency.minVersion} yet (it has ${seen ? `version ${seen.orderVersion}` : 'no such order'}); retry shortly`,
    });
  }
}
