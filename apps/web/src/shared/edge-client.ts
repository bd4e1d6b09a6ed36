import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from '../api/edge-api.d.ts';
import { type Problem, ProblemError, problemOf } from './problem.ts';
import { currentSession } from './session.ts';

/** Every call carries the signed-in shopper's token. */
const bearer: Middleware = {
  onRequest({ request }) {
    const session = currentSession();
    if (session) request.headers.set('authorization', `Bearer ${session.accessToken}`);
    return request;
  },
};

/** The edge API, typed from the gateway's OpenAPI document (src/api/edge-api.d.ts, generated at build). */
export const edge = createClient<paths>({ baseUrl: window.location.origin });
edge.use(bearer);

/** The data of an openapi-fetch answer, or a ProblemError saying what went wrong. */
export async function unwrap<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await call;
  } catch (error) {
    throw new ProblemError({
      status: 0,
      title: 'Network error',
      detail: `The shop could not be reached (${(error as Error).message})`,
      code: 'NETWORK',
    });
  }
  if (result.response.ok && result.data !== undefined) return result.data;
  const problem: Problem = await problemOf(result.response, result.error);
  throw new ProblemError(problem);
}
