import { expect } from 'vitest';

export interface Answer {
  status: number;
  type: string;
  // biome-ignore lint/suspicious/noExplicitAny: JSON as the API answered it, asserted on field by field.
  body: any;
}

export interface Order {
  id: number;
  status: string;
  totalCents: number;
  placedAt: string;
  lines: { lineNo: number; productId: number; quantity: number; unitPriceCents: number }[];
}

/** A plain JSON client of the monolith, answering status, content type and parsed body. */
export const legacyApi =
  (baseUrl: () => string) =>
  async (method: string, path: string, body?: unknown): Promise<Answer> => {
    const response = await fetch(`${baseUrl()}${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return {
      status: response.status,
      type: response.headers.get('content-type') ?? '',
      body: JSON.parse(text),
    };
  };

/** A problem+json answer with this status (and code, when given). */
export function expectProblem(answer: Answer, status: number, code?: string): void {
  expect(answer.status).toBe(status);
  expect(answer.type).toMatch(/^application\/problem\+json/);
  if (code) expect(answer.body.code).toBe(code);
}
