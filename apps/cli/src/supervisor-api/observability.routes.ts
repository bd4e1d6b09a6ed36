import { notFound } from '@mercato/chassis/errors';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import * as z from 'zod';
import type { LogStore } from '../observability/log-store.ts';
import type { MetricsCollector } from '../observability/metrics-collector.ts';
import type { SpanStore } from '../observability/span-store.ts';

const epochMs = z.coerce.number().int().min(0).max(8.64e15);
const limit = (fallback: number) => z.coerce.number().int().min(1).max(1_000).default(fallback);
const name = z.string().min(1).max(200);

const traceQuery = z.object({
  service: name.optional(),
  status: z.enum(['error', 'ok']).optional(),
  min_ms: z.coerce.number().min(0).optional(),
  max_ms: z.coerce.number().min(0).optional(),
  attribute: z
    .string()
    .max(400)
    .regex(/^[^=]+=.*$/, { error: 'expected key=value' })
    .optional(),
  correlation_id: name.optional(),
  q: z.string().max(200).optional(),
  since: epochMs.optional(),
  until: epochMs.optional(),
  limit: limit(50),
});

const logQuery = z.object({
  service: name.optional(),
  level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).optional(),
  q: z.string().max(200).optional(),
  correlation_id: name.optional(),
  trace_id: z
    .string()
    .regex(/^[0-9a-f]{32}$/, { error: 'expected 32 lowercase hex digits' })
    .optional(),
  since: epochMs.optional(),
  until: epochMs.optional(),
  limit: limit(200),
});

/** Traces (tail-sampled spans), logs and RED figures, all searchable over the same time range. */
export const observabilityRoutes =
  (spans: SpanStore, logs: LogStore, metrics: MetricsCollector): FastifyPluginAsyncZod =>
  async (app) => {
    app.get('/admin/traces', { schema: { querystring: traceQuery } }, async ({ query }) => {
      const at = query.attribute?.indexOf('=') ?? -1;
      const began = performance.now();
      const traces = spans.query({
        service: query.service,
        status: query.status,
        minMs: query.min_ms,
        maxMs: query.max_ms,
        attribute: query.attribute
          ? { key: query.attribute.slice(0, at), value: query.attribute.slice(at + 1) }
          : undefined,
        correlationId: query.correlation_id,
        text: query.q,
        sinceMs: query.since,
        untilMs: query.until,
        limit: query.limit,
      });
      return { traces, took_ms: performance.now() - began, store: spans.stats() };
    });

    app.get(
      '/admin/traces/:traceId',
      { schema: { params: z.object({ traceId: z.string().regex(/^[0-9a-f]{32}$/) }) } },
      async ({ params }) => {
        const trace = spans.trace(params.traceId);
        if (!trace)
          throw notFound('SUPERVISOR.TRACE_NOT_FOUND', `No trace ${params.traceId} (not kept, or evicted)`);
        return trace;
      },
    );

    app.get('/admin/logs', { schema: { querystring: logQuery } }, async ({ query }) => ({
      lines: logs.query({
        service: query.service,
        level: query.level,
        text: query.q,
        correlationId: query.correlation_id,
        traceId: query.trace_id,
        sinceMs: query.since,
        untilMs: query.until,
        limit: query.limit,
      }),
      store: logs.stats(),
    }));

    app.get('/admin/metrics', async () => ({ now: Date.now(), services: metrics.read() }));
  };
