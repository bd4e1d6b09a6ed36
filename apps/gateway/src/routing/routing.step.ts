import { currentRequestContext, requestPath } from '@mercato/chassis';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RequestFacts, Route } from './route-table.ts';
import type { RouteTableSource } from './route-table-watcher.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The routing-table route this request matched (set before any other gateway hook). */
    gatewayRoute: Route;
  }
}

const factsOf = (request: FastifyRequest): RequestFacts => ({
  method: request.method,
  // The canonical path the router matched and the upstream will be sent (never the raw target).
  path: requestPath(request),
  template: request.routeOptions.url,
  host: request.hostname,
  header: (name) => {
    const value = request.headers[name];
    return Array.isArray(value) ? value[0] : value;
  },
});

/**
 * Matches a request against the table in force and applies the route's policies: the request's
 * deadline (the route's timeout, capped by the gateway's) and the retry attempts its upstream
 * calls may use. Limits, auth and backends are read from `request.gatewayRoute` by later steps.
 */
export function createRoutingStep(app: FastifyInstance, table: RouteTableSource, deadlineMs: number) {
  app.decorateRequest('gatewayRoute', null as unknown as Route);
  return (request: FastifyRequest): void => {
    const route = table.current().match(factsOf(request));
    request.gatewayRoute = route;
    const context = currentRequestContext();
    if (context) {
      context.deadline = Date.now() + Math.min(deadlineMs, route.timeoutMs ?? deadlineMs);
      context.retryAttempts = route.retryAttempts;
    }
  };
}
