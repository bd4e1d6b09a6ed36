import type { CategorySales, DailySales, SagaOutcomes } from '../application/reports.port.ts';
import type { Recommendation } from '../domain/bought-together.ts';

/** Reports as the HTTP API and the edge show them (snake_case, money in minor units). */
export const salesJson = (report: {
  from: string;
  to: string;
  days: DailySales[];
  categories: CategorySales[];
  position: string | null;
}) => ({
  from: report.from,
  to: report.to,
  days: report.days.map((d) => ({
    day: d.day,
    currency: d.currency,
    orders: d.orders,
    units: d.units,
    revenue_minor: d.revenueMinor,
  })),
  categories: report.categories.map((c) => ({
    day: c.day,
    category: c.category,
    currency: c.currency,
    units: c.units,
    revenue_minor: c.revenueMinor,
  })),
  position: report.position,
});

export const sagaOutcomesJson = (outcomes: SagaOutcomes & { position: string | null }) => ({
  placed: outcomes.placed,
  pending: outcomes.pending,
  confirmed: outcomes.confirmed,
  cancelled_by_reason: outcomes.cancelledByReason,
  failed: outcomes.failed,
  compensated: outcomes.compensated,
  refunds: outcomes.refunds,
  time_to_confirm_ms: { p50: outcomes.confirmP50Ms, p90: outcomes.confirmP90Ms, p99: outcomes.confirmP99Ms },
  position: outcomes.position,
});

export const recommendationJson = (item: Recommendation) => ({
  sku: item.sku,
  reason: item.reason,
  score: item.score,
  category: item.category,
});
