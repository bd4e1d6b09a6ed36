import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { currentRequestContext } from '../logging/request-context.ts';

export const CORRELATION_HEADER = 'x-correlation-id';
export const REQUEST_ID_HEADER = 'x-request-id';
/** The verified caller's id, set by the gateway on calls made for an authenticated request. */
export const USER_ID_HEADER = 'x-mercato-user-id';
/** `always`: the request's calls go to canary instances where a canary release runs (a tester's header). */
export const CANARY_HEADER = 'x-mercato-canary';

/** Whether a request asked for the canary: the header's value is exactly `always`. */
export const wantsCanary = (value: string | string[] | null | undefined): boolean =>
  (Array.isArray(value) ? value[0] : value) === 'always';

// Ids from clients are echoed into logs and headers, so only a conservative alphabet is accepted.
const acceptableId = /^[A-Za-z0-9._:-]{1,128}$/;

/** The value when it is a well-formed id, else undefined. */
export const wellFormedId = (value: string | null | undefined): string | undefined =>
  value !== null && value !== undefined && acceptableId.test(value) ? value : undefined;

const headerValue = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const value = headers[name];
  return wellFormedId(Array.isArray(value) ? value[0] : value);
};

/** The caller's correlation id when well formed; otherwise a new one. */
export const correlationIdFrom = (headers: IncomingHttpHeaders): string =>
  headerValue(headers, CORRELATION_HEADER) ?? `corr_${randomUUID()}`;

/** The caller's request id when well formed; otherwise a new one. */
export const requestIdFrom = (headers: IncomingHttpHeaders): string =>
  headerValue(headers, REQUEST_ID_HEADER) ?? `req_${randomUUID()}`;

/**
 * The ids an outgoing call carries for the request being served (correlation id, request id, the
 * verified user), as header name → value; empty outside a request. gRPC and HTTP calls use the same.
 */
export function contextHeaders(): Record<string, string> {
  const context = currentRequestContext();
  if (!context) return {};
  const headers: Record<string, string> = {
    [CORRELATION_HEADER]: context.correlationId,
    [REQUEST_ID_HEADER]: context.requestId,
  };
  if (context.userId) headers[USER_ID_HEADER] = context.userId;
  if (context.canary) headers[CANARY_HEADER] = 'always';
  return headers;
}
