import type { Recommendation } from '../domain/bought-together.ts';

export interface DailySales {
  day: string;
  currency: string;
  orders: number;
  units: number;
  revenueMinor: number;
}

export interface CategorySales {
  day: string;
  category: string;
  currency: string;
  units: number;
  revenueMinor: number;
}

export interface SagaOutcomes {
  placed: number;
  pending: number;
  confirmed: number;
  cancelledByReason: Record<string, number>;
  failed: number;
  compensated: number;
  refunds: number;
  confirmP50Ms: number;
  confirmP90Ms: number;
  confirmP99Ms: number;
}

/** The log position the live generation had applied when it answered. */
interface AtPosition {
  position: string | null;
}

/** What analytics answers from its live generation, each answer from one copy. */
export interface Reports {
  sales: (
    from: string,
    to: string,
  ) => Promise<{ days: DailySales[]; categories: CategorySales[] } & AtPosition>;
  sagaOutcomes: () => Promise<SagaOutcomes & AtPosition>;
  /** SKUs the customer bought, others' co-purchases of them, and what is popular in their categories. */
  recommendationInputs: (
    customerId: string,
    limit: number,
  ) => Promise<{ owned: Set<string>; together: Recommendation[]; popular: Recommendation[] } & AtPosition>;
}
