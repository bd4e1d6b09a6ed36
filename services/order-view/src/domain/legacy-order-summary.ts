import { emptySummary, type OrderSummary, type SummaryLine } from './order-summary.ts';

/** An order row of the monolith, its ids and status already named as the services name them. */
export interface LegacyOrderRow {
  customerId: string;
  status: string;
  totalMinor: number;
  currency: string;
  placedAt: string;
  updatedAt: string;
}

/**
 * A change of one of the monolith's order or order line rows (strangler fig), as order-view folds
 * it into the order's summary. Each carries the row as it now is, never a difference.
 */
export type LegacyOrderChange =
  /** `snapshot`: read by a snapshot of the monolith's tables, which lists an order's lines after it. */
  | { type: 'order_changed'; row: LegacyOrderRow; snapshot: boolean }
  | { type: 'order_deleted' }
  | { type: 'line_changed'; line: Required<SummaryLine> }
  | { type: 'line_deleted'; lineNo: number };

/** The column saying when an order entered a status, for the statuses that have one. */
const enteredAt = {
  confirmed: 'confirmedAt',
  shipped: 'shippedAt',
  delivered: 'deliveredAt',
  cancelled: 'cancelledAt',
} as const satisfies Record<string, keyof OrderSummary>;

const withLines = (summary: OrderSummary, lines: Array<Required<SummaryLine>>): OrderSummary => ({
  ...summary,
  lines: lines.toSorted((a, b) => a.lineNo - b.lineNo),
  itemCount: lines.reduce((sum, line) => sum + line.quantity, 0),
});

const numberedLines = (summary: OrderSummary) =>
  summary.lines.filter((line): line is Required<SummaryLine> => line.lineNo !== undefined);

/**
 * The summary after one change of the monolith's rows; undefined when the order is gone. Pure and
 * deterministic, and idempotent: a change applied twice leaves what it left once, so neither a copy
 * nor a snapshot taken again can count anything twice. Times are the rows' own: the monolith moves
 * `updated_at` with each status, so it is when the order entered the status it is in (and, for a
 * snapshot row, the only time known: the times of the statuses it passed through are not kept).
 * Lines do not move `updatedAt`, which stays the order row's, as the monolith has it.
 */
export function applyLegacyChange(
  summary: OrderSummary | undefined,
  orderId: string,
  change: LegacyOrderChange,
  at: string,
): OrderSummary | undefined {
  switch (change.type) {
    case 'order_changed': {
      const { row } = change;
      const before = summary ?? emptySummary(orderId, row.updatedAt);
      const entered = before.customerId === null || before.status !== row.status;
      const column = enteredAt[row.status as keyof typeof enteredAt];
      const next: OrderSummary = {
        ...before,
        customerId: row.customerId,
        status: row.status,
        totalMinor: row.totalMinor,
        currency: row.currency,
        placedAt: row.placedAt,
        updatedAt: row.updatedAt,
        ...(entered && column ? { [column]: row.updatedAt } : {}),
      };
      // A snapshot taken again (the change capture started over) lists the lines the order has now
      // right after it: the ones it had may include some deleted meanwhile.
      return change.snapshot ? withLines(next, []) : next;
    }
    case 'order_deleted':
      return undefined;
    case 'line_changed': {
      // A line before its order (the log never has one): kept, and shown once the order row comes.
      const before = summary ?? emptySummary(orderId, at);
      const others = numberedLines(before).filter((line) => line.lineNo !== change.line.lineNo);
      return withLines(before, [...others, change.line]);
    }
    case 'line_deleted':
      return (
        summary &&
        withLines(
          summary,
          numberedLines(summary).filter((line) => line.lineNo !== change.lineNo),
        )
      );
  }
}
