import { AsyncLocalStorage } from 'node:async_hooks';

/** What a log line or an outgoing call needs to know about the request it belongs to. */
import type { Principal } from '../auth/token-verifier.ts';

export interface RequestContext {
  correlationId: string;
  requestId: string;
  /**
   * When the whole request must be answered by (epoch ms). Outgoing calls use the smaller of their
   * own timeout and what is left of it, so the deadline shrinks hop by hop.
   */
  deadline?: number;
  /**
   * Attempts for idempotent outgoing calls made while serving this request, overriding each
   * dependency's own setting (a gateway route's retry policy); 1 means no retry.
   */
  retryAttempts?: number;
  /** The verified caller: set by the gateway once it has checked the token, passed on to every hop. */
  userId?: string;
  /**
   * The user's access token (`Bearer …`) the gateway verified: it travels with every gRPC call made
   * for the request, so that a service under a call policy checks the user itself.
   */
  userToken?: string;
  /**
   * Set on a gRPC call a call policy authorized (mutual TLS): the calling service, the user its token
   * proves (verified here), and whether the policy lets this caller act for no user on this method
   * (a mail about an order). Absent, this service trusts its caller with the user (`mayActFor`).
   */
  authorization?: { caller: string; withoutUser: boolean; user?: Principal };
  /**
   * A tester asked for the canary (`x-mercato-canary: always`): every call made for this request
   * goes to a dependency's canary instance while it has one, and the header is passed on.
   */
  canary?: boolean;
}

/**
 * Holds the current request's context across awaits. One store per process is inherent to
 * AsyncLocalStorage; it carries no state between requests.
 */
const store = new AsyncLocalStorage<RequestContext>();

export const runWithRequestContext = <T>(context: RequestContext, fn: () => T): T => store.run(context, fn);

export const currentRequestContext = (): RequestContext | undefined => store.getStore();

/** Milliseconds left before the current request's deadline, or undefined when it has none. */
export const remainingDeadlineMs = (now = Date.now()): number | undefined => {
  const deadline = store.getStore()?.deadline;
  return deadline === undefined ? undefined : deadline - now;
};
