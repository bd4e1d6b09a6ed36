/** An RFC 9457 problem as the edge answers it, or what a failed call came to. */
export interface Problem {
  status: number;
  title: string;
  detail: string;
  code: string;
  retryable?: boolean;
  /** Seconds, from Retry-After, when the edge said when to ask again. */
  retryAfter?: number;
}

export class ProblemError extends Error {
  readonly problem: Problem;

  constructor(problem: Problem) {
    super(problem.detail || problem.title);
    this.problem = problem;
  }
}

/** What a non-2xx answer says, as a Problem (problem+json, or whatever came back). */
export async function problemOf(response: Response, body?: unknown): Promise<Problem> {
  let parsed = body;
  if (parsed === undefined) {
    const text = await response.text().catch(() => '');
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { detail: text };
    }
  }
  const fields = (parsed ?? {}) as Partial<Problem>;
  const retryAfter = Number(response.headers.get('retry-after'));
  return {
    status: response.status,
    title: fields.title ?? response.statusText,
    detail: fields.detail ?? '',
    code: fields.code ?? `HTTP.${response.status}`,
    ...(fields.retryable === undefined ? {} : { retryable: fields.retryable }),
    ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfter } : {}),
  };
}

/** A sentence a shopper or an operator can act on, for the problems the edge is known to answer. */
export function explain(problem: Problem): string {
  const known: Record<string, string> = {
    'AUTH.INVALID_CREDENTIALS': 'That email and password do not match an account.',
    'AUTH.MISSING_TOKEN': 'Please sign in first.',
    'AUTH.INVALID_TOKEN': 'Your session has ended: please sign in again.',
    'AUTH.FORBIDDEN': 'This account may not do that.',
    'IDENTITY.EMAIL_TAKEN': 'An account with that email already exists: sign in instead.',
    'ORDER.REQUEST_IN_FLIGHT': 'Your order is already being placed.',
  };
  if (problem.status === 429)
    return `Too many requests: please wait${problem.retryAfter ? ` ${problem.retryAfter} s` : ' a moment'} and try again.`;
  if (problem.code.endsWith('NOT_CAUGHT_UP'))
    return 'Your latest change is still on its way: this page will catch up in a moment.';
  if (problem.status === 503 || problem.status === 504)
    return `Part of the shop is not answering right now (${problem.detail || problem.title}). Please try again shortly.`;
  return known[problem.code] ?? (problem.detail || problem.title || `Request failed (${problem.status})`);
}
