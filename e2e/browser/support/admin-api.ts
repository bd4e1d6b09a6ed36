import { inject } from 'vitest';

/** The supervisor's API as a test's operator uses it (the run's admin token), for setting up faults. */
export async function supervisor(
  path: string,
  init: { method?: string; body?: unknown } = {},
): Promise<unknown> {
  const response = await fetch(`${inject('supervisor')}/admin/${path}`, {
    method: init.method ?? 'GET',
    headers: {
      authorization: `Bearer ${inject('adminToken')}`,
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  if (!response.ok) throw new Error(`supervisor ${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

export const providerKnobs = (knobs: Record<string, number | boolean>) =>
  supervisor('services/payment-provider/admin/knobs', { method: 'PUT', body: knobs });
