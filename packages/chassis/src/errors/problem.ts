import { AppError, errorKinds } from './app-error.ts';

/** RFC 9457 problem details, with our stable `code` and `retryable` members. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  retryable: boolean;
  instance?: string;
  [member: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

const titles: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

const titleFor = (status: number): string =>
  titles[status] ?? (status < 500 ? 'Client Error' : 'Server Error');

/** Errors thrown by the HTTP framework itself (bad JSON, wrong content type, body too large). */
interface FrameworkError {
  statusCode?: number;
  code?: string;
  message: string;
}

const isFrameworkClientError = (error: unknown): error is FrameworkError => {
  if (typeof error !== 'object' || error === null) return false;
  const status = (error as FrameworkError).statusCode;
  return typeof status === 'number' && status >= 400 && status < 500;
};

/**
 * The single mapping from any thrown value to a problem document. Unknown errors become an opaque
 * 500 so internals never leak; the caller logs the original.
 */
export function toProblem(error: unknown, instance?: string): Problem {
  if (error instanceof AppError) {
    return {
      // Extension members first: a detail named like a standard member (status, type, code, …)
      // must not replace it (a detail `status: "shipped"` once made the response status invalid).
      ...error.details,
      type: `urn:mercato:problem:${error.code}`,
      title: titleFor(error.status),
      status: error.status,
      detail: error.message,
      code: error.code,
      retryable: error.retryable,
      ...(instance ? { instance } : {}),
    };
  }
  if (isFrameworkClientError(error)) {
    const status = error.statusCode ?? 400;
    const code = `HTTP.${error.code ?? status}`;
    return {
      type: `urn:mercato:problem:${code}`,
      title: titleFor(status),
      status,
      detail: error.message,
      code,
      retryable: status === 429,
      ...(instance ? { instance } : {}),
    };
  }
  return {
    type: 'urn:mercato:problem:INTERNAL',
    title: titleFor(errorKinds.internal),
    status: errorKinds.internal,
    detail: 'An unexpected error occurred; it has been logged.',
    code: 'INTERNAL',
    retryable: false,
    ...(instance ? { instance } : {}),
  };
}
