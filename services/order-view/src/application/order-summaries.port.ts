import type { OrderSummary } from '../domain/order-summary.ts';

export interface SummaryPage {
  orders: OrderSummary[];
  /** Where the next page starts, when there is one. */
  next: string | null;
  /** How many of the customer's orders are in each status. */
  counts: Record<string, number>;
  /** The log position the rows reflect (the live generation's checkpoint). */
  position: string | null;
}

export interface SummaryListQuery {
  customerId: string;
  status?: string | undefined;
  pageSize: number;
  /** A decoded page token: placed_at and order id of the previous page's last row. */
  after?: [string, string] | undefined;
}

/** The live read model's summaries. */
export interface OrderSummaries {
  /** The order's summary (undefined: not in the read model) and the position the copy had applied. */
  get: (orderId: string) => Promise<{ summary: OrderSummary | undefined; position: string | null }>;
  list: (query: SummaryListQuery) => Promise<SummaryPage>;
}
