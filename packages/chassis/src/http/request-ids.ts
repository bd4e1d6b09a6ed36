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

/** The caller's correlation id when well formed; otherwise a new one. */
export const correlationIdFrom = (headers: IncomingHttpHeaders): string =>
  headerValue(headers, CORRELATION_HEADER) ?? `corr_${randomUUID()}`;

/** The caller's request id when well formed; otherwise a new one. */
export const requestIdFrom = (headers: IncomingHttpHeaders): string =>
  headerValue(headers, REQUEST_ID_HEADER) ?? `req_${randomUUID()}`;
