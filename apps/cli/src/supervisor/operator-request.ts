/**
 * A request to one of the platform's processes as the run's operator: its admin token, and a JSON
 * body when there is one. A process that does not answer rejects, as `fetch` does; each caller says
 * so in its own terms.
 */
export function operatorRequest(
  url: string,
  options: { method: string; token: string; body?: unknown; timeoutMs?: number },
): Promise<Response> {
  const { method, token, body, timeoutMs } = options;
  return fetch(url, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    ...(timeoutMs === undefined ? {} : { signal: AbortSignal.timeout(timeoutMs) }),
  });
}
