import { Code, ConnectError } from '@connectrpc/connect';
import { AppError, type ErrorKind, isAppError, OverloadedError } from '../errors/app-error.ts';

const CODE_HEADER = 'mercato-error-code';
const DETAILS_HEADER = 'mercato-error-details';
// gRPC has no status for every kind (422 has none of its own): the kind travels beside the status.
const KIND_HEADER = 'mercato-error-kind';
// When to ask again, in seconds, so an edge can send Retry-After for a dependency's refusal.
const RETRY_AFTER_HEADER = 'mercato-retry-after';
// Set on a call the server shed at its concurrency limit before doing any work (OverloadedError).
const SHED_HEADER = 'mercato-shed';

/** Did the server shed this call at its concurrency limit (nothing done, not its failure)? */
export const wasShed = (error: ConnectError): boolean =>
  error.code === Code.ResourceExhausted && error.metadata.get(SHED_HEADER) === '1';

const codeOfKind: Record<ErrorKind, Code> = {
  validation: Code.InvalidArgument,
  unauthenticated: Code.Unauthenticated,
  forbidden: Code.PermissionDenied,
  not_found: Code.NotFound,
  conflict: Code.FailedPrecondition,
  unprocessable: Code.FailedPrecondition,
  payload_too_large: Code.ResourceExhausted,
  rate_limited: Code.ResourceExhausted,
  bad_gateway: Code.Internal,
  unavailable: Code.Unavailable,
  timeout: Code.DeadlineExceeded,
  internal: Code.Internal,
};

const kindOfCode: Partial<Record<Code, ErrorKind>> = {
  [Code.InvalidArgument]: 'validation',
  [Code.OutOfRange]: 'validation',
  [Code.Unauthenticated]: 'unauthenticated',
  [Code.PermissionDenied]: 'forbidden',
  [Code.NotFound]: 'not_found',
  [Code.FailedPrecondition]: 'conflict',
  [Code.AlreadyExists]: 'conflict',
  [Code.Aborted]: 'conflict',
  [Code.ResourceExhausted]: 'rate_limited',
  [Code.Unavailable]: 'unavailable',
  [Code.DeadlineExceeded]: 'timeout',
  [Code.Canceled]: 'timeout',
};

/**
 * The one place a server maps its errors to gRPC statuses. The stable code and details travel in
 * trailers so that a caller of ours gets the same AppError back; other gRPC clients still get a
 * standard status and message. Unexpected errors become INTERNAL without their message.
 */
export function toConnectError(error: unknown): ConnectError {
  if (error instanceof ConnectError) return error;
  if (!isAppError(error)) return new ConnectError('internal error', Code.Internal);
  const metadata = new Headers({ [CODE_HEADER]: error.code, [KIND_HEADER]: error.kind });
  if (error.details) metadata.set(DETAILS_HEADER, encodeURIComponent(JSON.stringify(error.details)));
  if (error.retryAfterSeconds !== undefined)
    metadata.set(RETRY_AFTER_HEADER, String(error.retryAfterSeconds));
  if (error instanceof OverloadedError) {
    metadata.set(SHED_HEADER, '1');
    return new ConnectError(error.message, Code.ResourceExhausted, metadata, undefined, error);
  }
  return new ConnectError(error.message, codeOfKind[error.kind], metadata, undefined, error);
}

/**
 * The one place a client maps a gRPC status back to an AppError. A dependency's own failures
 * (INTERNAL, UNKNOWN, …) become `bad_gateway` for our caller: they are not our bug.
 */
export function fromConnectError(error: ConnectError, dependency: string): AppError {
  const sent = error.metadata.get(KIND_HEADER);
  // RESOURCE_EXHAUSTED that is no refusal of ours (which names its kind, or says it shed the call)
  // is a message over a size limit (GRPC_MAX_MESSAGE_BYTES), ours or the server's: not a rate
  // limit to wait out, a failure of the call.
  const oversized = error.code === Code.ResourceExhausted && sent === null && !wasShed(error);
  const kind: ErrorKind =
    sent === 'unprocessable' && error.code === Code.FailedPrecondition
      ? 'unprocessable'
      : oversized
        ? 'bad_gateway'
        : (kindOfCode[error.code] ?? 'bad_gateway');
  const code =
    error.metadata.get(CODE_HEADER) ?? `${dependency.toUpperCase()}.${Code[error.code].toUpperCase()}`;
  const retryAfter = Number(error.metadata.get(RETRY_AFTER_HEADER) ?? Number.NaN);
  if (wasShed(error))
    return new OverloadedError(
      code,
      error.rawMessage,
      Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter : 1,
    );
  return new AppError({
    code,
    kind,
    ...(Number.isFinite(retryAfter) && retryAfter >= 0 ? { retryAfterSeconds: retryAfter } : {}),
    // A dependency's internal failure message is not for our callers.
    message: kind === 'bad_gateway' ? `${dependency} failed (${Code[error.code]})` : error.rawMessage,
    details: readDetails(error.metadata.get(DETAILS_HEADER)),
    cause: error,
  });
}

function readDetails(raw: string | null): Record<string, unknown> | undefined {
  if (!raw) return undefined;
  try {
    const parsed: unknown = JSON.parse(decodeURIComponent(raw));
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
