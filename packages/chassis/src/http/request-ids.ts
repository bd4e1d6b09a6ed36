import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export const CORRELATION_HEADER = 'x-correlation-id';
export const REQUEST_ID_HEADER = 'x-request-id';

// Ids from clients are echoed into logs and headers, so only a conservative alphabet is accepted.
const acceptableId = /^[A-Za-z0-9._:-]{1,128}$/;

const headerValue = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const value = headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first !== undefined && acceptableId.test(first) ? first : undefined;
};

/** Accepts the caller's correlation and request ids when well formed; otherwise makes new ones. */
export function requestIdsFrom(headers: IncomingHttpHeaders): { correlationId: string; requestId: string } {
  return {
    correlationId: headerValue(headers, CORRELATION_HEADER) ?? `corr_${randomUUID()}`,
    requestId: headerValue(headers, REQUEST_ID_HEADER) ?? `req_${randomUUID()}`,
  };
}
