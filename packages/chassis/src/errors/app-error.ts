/** The kinds of failure every service maps the same way; each kind has one HTTP status. */
export const errorKinds = {
  validation: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  /** Well-formed but cannot be accepted as it is (e.g. an idempotency key reused for another request). */
  unprocessable: 422,
  payload_too_large: 413,
  rate_limited: 429,
  bad_gateway: 502,
  unavailable: 503,
  timeout: 504,
  internal: 500,
} as const;

export type ErrorKind = keyof typeof errorKinds;

export interface AppErrorOptions {
  /** Stable, namespaced code such as `CATALOG.PRODUCT_NOT_FOUND`. Clients may branch on it. */
  code: string;
  kind: ErrorKind;
  message: string;
  /** Whether the same call may succeed if repeated unchanged. */
  retryable?: boolean;
  /** When it is worth repeating: sent as `Retry-After` (seconds) with the problem. */
  retryAfterSeconds?: number;
  /** Extra members for the problem document (e.g. the list of invalid fields). */
  details?: Record<string, unknown>;
  cause?: unknown;
}

/** An expected failure with a stable code. Mapped to problem+json in exactly one place (`problem.ts`). */
export class AppError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  readonly retryable: boolean;
  readonly retryAfterSeconds: number | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(options: AppErrorOptions) {
    super(options.message, { cause: options.cause });
    this.name = 'AppError';
    this.code = options.code;
    this.kind = options.kind;
    this.retryable = options.retryable ?? (options.kind === 'unavailable' || options.kind === 'timeout');
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.details = options.details;
  }

  get status(): number {
    return errorKinds[this.kind];
  }
}

/**
 * Refused at once because the service (or the edge) is at its concurrency limit: nothing was done,
 * so the same request may be sent again after `Retry-After`. A 503 over HTTP; over gRPC
 * RESOURCE_EXHAUSTED marked as shed, which a caller's breaker does not count and its retry does
 * not repeat (load shedding must not open circuits or multiply the load).
 */
export class OverloadedError extends AppError {
  constructor(code: string, message: string, retryAfterSeconds = 1) {
    super({ code, kind: 'unavailable', message, retryAfterSeconds });
    this.name = 'OverloadedError';
  }
}

export const isAppError = (value: unknown): value is AppError => value instanceof AppError;

export const notFound = (code: string, message: string): AppError =>
  new AppError({ code, kind: 'not_found', message });

export const conflict = (code: string, message: string, details?: Record<string, unknown>): AppError =>
  new AppError({ code, kind: 'conflict', message, details });

export interface FieldIssue {
  field: string;
  message: string;
}

export const validationFailed = (issues: FieldIssue[], code = 'REQUEST.INVALID'): AppError =>
  new AppError({
    code,
    kind: 'validation',
    message: issues.map((issue) => `${issue.field}: ${issue.message}`).join('; '),
    details: { errors: issues },
  });
