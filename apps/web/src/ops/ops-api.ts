import { ProblemError, problemOf } from '../shared/problem.ts';
import { currentSession } from '../shared/session.ts';

/** A call to the supervisor's API through the gateway (`/ops/api/*`), as the signed-in admin. */
export async function ops<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const session = currentSession();
  let response: Response;
  try {
    response = await fetch(`/ops/api/${path}`, {
      method: init.method ?? 'GET',
      headers: {
        ...(session ? { authorization: `Bearer ${session.accessToken}` } : {}),
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
  } catch (error) {
    throw new ProblemError({
      status: 0,
      title: 'Network error',
      detail: `The gateway could not be reached (${(error as Error).message})`,
      code: 'NETWORK',
    });
  }
  if (!response.ok) throw new ProblemError(await problemOf(response));
  return (await response.json()) as T;
}

/** A service's own admin endpoint, reached through the supervisor. */
export const serviceAdmin = <T>(
  service: string,
  path: string,
  init: { method?: string; body?: unknown } = {},
) => ops<T>(`services/${service}/admin/${path}`, init);
