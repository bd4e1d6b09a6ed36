import { AppError, contextHeaders } from '@mercato/chassis';
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
    await response.body?.cancel();
    throw new AppError({
      code: `${code}.HTTP_${response.status}`,
      kind: response.status === 404 ? 'not_found' : response.status >= 500 ? 'bad_gateway' : 'validation',
      message: `${backend.name} answered ${response.status}`,
    });
  }
  return response.json();
}
