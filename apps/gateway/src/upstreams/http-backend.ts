import { AppError, contextHeaders, type ErrorKind } from '@mercato/chassis';
import { type Cluster, pickBackend } from '../routing/route-table.ts';

/**
 * GET a JSON document from one backend of an http cluster (picked by weight), with the request's
 * ids; `traceparent` is added by the tracing SDK's undici instrumentation, as for every fetch. A
 * non-2xx answer becomes an AppError of the matching kind, named after the backend.
 */
export async function getJson(cluster: Cluster, path: string, signal: AbortSignal): Promise<unknown> {
  const backend = pickBackend(cluster);
  const code = backend.name.toUpperCase();
  let response: Response;
  try {
    response = await fetch(new URL(path, backend.url), {
      headers: { accept: 'application/json', ...contextHeaders() },
      signal,
    });
  } catch (error) {
    if (signal.aborted) throw error;
    throw new AppError({
      code: `${code}.UNAVAILABLE`,
      kind: 'unavailable',
      message: `${backend.name} cannot be reached`,
      cause: error,
    });
  }
  if (!response.ok) {
    // The backend's own problem document says what went wrong; its code and detail are passed on.
    const problem = (await response.json().catch(() => undefined)) as
      | { detail?: unknown; code?: unknown }
      | undefined;
    const retryAfter = Number.parseInt(response.headers.get('retry-after') ?? '', 10);
    throw new AppError({
      code: typeof problem?.code === 'string' ? problem.code : `${code}.HTTP_${response.status}`,
      kind: kindOf(response.status),
      // Its advice on when to ask again, in seconds (an HTTP date is not passed on).
      ...(Number.isFinite(retryAfter) && retryAfter >= 0 ? { retryAfterSeconds: retryAfter } : {}),
      message:
        typeof problem?.detail === 'string' ? problem.detail : `${backend.name} answered ${response.status}`,
    });
  }
  return response.json();
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
