import {
  AppError,
  contextHeaders,
  currentRequestContext,
  type ErrorKind,
  httpOutcome,
  remainingDeadlineMs,
} from '@mercato/chassis';
import { request } from 'undici';
import type * as z from 'zod';
import { type Cluster, pickBackend } from '../routing/route-table.ts';
import type { BackendAddresses } from './backend-address.ts';

/**
 * The user's token the gateway verified, for the read models (the platform's own services: an
 * http cluster the gateway reads with `getJson`), which check it under a call policy.
 */
const userToken = (): Record<string, string> => {
  const token = currentRequestContext()?.userToken;
  return token ? { authorization: token } : {};
};

/** What a non-2xx answer's body may say: a problem document's code and detail. */
type Problem = { detail?: unknown; code?: unknown } | undefined;

/**
 * GET a JSON document from one backend of an http cluster (picked by weight), with the request's
 * ids; `traceparent` is added by the tracing SDK's undici instrumentation, as for every fetch. A
 * non-2xx answer becomes an AppError of the matching kind, named after the backend.
 *
 * undici's `request` rather than `fetch`: this is the edge's read path (`GET /api/orders`, the
 * dashboard), and fetch's WHATWG layer (a Request, a web stream, an abort signal and a resource
 * timing entry per call) was a fifth of the gateway's CPU per read in a profile. The same
 * diagnostics channels carry both, so tracing is unchanged.
 */
export async function getJson(
  cluster: Cluster,
  path: string,
  signal: AbortSignal,
  addresses: BackendAddresses,
  /** A write instead of a read: its method and JSON body (sent to the next instance only when none listened). */
  write?: { method: 'PATCH' | 'POST' | 'PUT'; body: unknown },
): Promise<unknown> {
  const backend = pickBackend(cluster);
  const code = backend.name.toUpperCase();
  // A request that found nothing listening at an instance (it stopped) is sent to the next one: a
  // read model instance that went away is not seen at the edge. Every other failure is answered
  // (a write that may have reached an instance is not sent twice).
  const tried = new Set<string>();
  let response: Awaited<ReturnType<typeof request>> | undefined;
  let lastError: unknown;
  while (response === undefined) {
    const lease = tried.size === 0 ? addresses.lease(backend) : addresses.next(backend, tried);
    if (!lease) break;
    tried.add(lease.address);
    try {
      response = await request(new URL(path, lease.address), {
        method: write?.method ?? 'GET',
        headers: {
          accept: 'application/json',
          ...(write ? { 'content-type': 'application/json' } : {}),
          ...contextHeaders(),
          ...userToken(),
        },
        ...(write ? { body: JSON.stringify(write.body) } : {}),
        signal,
      });
      lease.end(httpOutcome({ status: response.statusCode }));
    } catch (error) {
      // A read that ran out of time (the route's deadline, a composed part's) is the instance's
      // failure, as a gRPC call's timeout is; one the client abandoned says nothing.
      const timedOut = signal.aborted && (signal.reason as Error | undefined)?.name === 'TimeoutError';
      const outcome = httpOutcome({ error, aborted: signal.aborted, timedOut });
      lease.end(outcome);
      if (signal.aborted) throw error;
      lastError = error;
      if (outcome !== 'unreachable') break;
    }
  }
  if (response === undefined)
    throw new AppError({
      code: `${code}.UNAVAILABLE`,
      kind: 'unavailable',
      message: `${backend.name} cannot be reached`,
      cause: lastError,
    });
  const { statusCode, headers, body } = response;
  if (statusCode < 200 || statusCode > 299) {
    // The backend's own problem document says what went wrong; its code and detail are passed on.
    const problem = (await body.json().catch(() => undefined)) as Problem;
    const retryAfterHeader = headers['retry-after'];
    const retryAfter = Number.parseInt(
      (Array.isArray(retryAfterHeader) ? retryAfterHeader[0] : retryAfterHeader) ?? '',
      10,
    );
    throw new AppError({
      code: typeof problem?.code === 'string' ? problem.code : `${code}.HTTP_${statusCode}`,
      kind: kindOf(statusCode),
      // Its advice on when to ask again, in seconds (an HTTP date is not passed on).
      ...(Number.isFinite(retryAfter) && retryAfter >= 0 ? { retryAfterSeconds: retryAfter } : {}),
      message:
        typeof problem?.detail === 'string' ? problem.detail : `${backend.name} answered ${statusCode}`,
    });
  }
  return body.json();
}

/** A read made for the request ends with its deadline, or after 3 s when it has none. */
export const withinDeadline = (): AbortSignal => AbortSignal.timeout(remainingDeadlineMs() ?? 3_000);

/**
 * `getJson` within the request's deadline, its answer checked against `schema`: one the gateway
 * cannot read is a 502 with `badAnswer`'s code and message (the backend answered, not in the shape
 * this edge reads).
 */
export async function readJson<Schema extends z.ZodType>(
  cluster: Cluster,
  path: string,
  schema: Schema,
  addresses: BackendAddresses,
  badAnswer: { code: string; message: string },
  write?: { method: 'PATCH' | 'POST' | 'PUT'; body: unknown },
): Promise<z.output<Schema>> {
  const parsed = schema.safeParse(await getJson(cluster, path, withinDeadline(), addresses, write));
  if (!parsed.success) throw new AppError({ ...badAnswer, kind: 'bad_gateway' });
  return parsed.data;
}

/** A backend's status as the edge answers it: its 4xx and 503/504 as they are, other 5xx as 502. */
function kindOf(status: number): ErrorKind {
  if (status === 404) return 'not_found';
  if (status === 503) return 'unavailable';
  if (status === 504) return 'timeout';
  if (status === 409) return 'conflict';
  if (status === 401 || status === 403) return 'bad_gateway';
  return status >= 500 ? 'bad_gateway' : 'validation';
}
