import type { ConnectRouter } from '@connectrpc/connect';
import { parseRequest } from '@mercato/chassis';
import { AnalyticsService } from '@mercato/contracts/grpc/analytics';
import * as z from 'zod';
import type { AnalyticsQueries } from '../../application/analytics-queries.ts';

const day = z.union([z.literal(''), z.string().regex(/^\d{4}-\d{2}-\d{2}$/)]);

export const analyticsGrpc = (queries: AnalyticsQueries) => (router: ConnectRouter) => {
  router.service(AnalyticsService, {
    async getSalesReport(request) {
      const { from, to } = parseRequest(z.object({ from: day, to: day }), request);
      const report = await queries.sales(from || undefined, to || undefined);
      return {
        days: report.days.map((d) => ({ ...d, revenueMinor: BigInt(d.revenueMinor) })),
        categories: report.categories.map((c) => ({ ...c, revenueMinor: BigInt(c.revenueMinor) })),
        position: report.position ?? '',
      };
    },
    async getSagaOutcomes() {
      const outcomes = await queries.sagaOutcomes();
      return { ...outcomes, position: outcomes.position ?? '' };
    },
    async getRecommendations(request) {
      const { customerId, limit } = parseRequest(
        z.object({ customerId: z.string().trim().min(1).max(64), limit: z.number().int().min(0).max(50) }),
        request,
      );
      const { items, position } = await queries.recommendations(customerId, limit || 5);
      return { items, position: position ?? '' };
    },
  });
};
