import { AsyncLocalStorage } from 'node:async_hooks';

/** What a log line or an outgoing call needs to know about the request it belongs to. */
export interface RequestContext {
  correlationId: string;
  requestId: string;
}

/**
 * Holds the current request's context across awaits. One store per process is inherent to
 * AsyncLocalStorage; it carries no state between requests.
 */
const store = new AsyncLocalStorage<RequestContext>();

export const runWithRequestContext = <T>(context: RequestContext, fn: () => T): T => store.run(context, fn);

export const currentRequestContext = (): RequestContext | undefined => store.getStore();
