import { notFound } from '@mercato/chassis';
import type { FastifyRequest } from 'fastify';
import * as z from 'zod';
import type { Upstreams } from '../upstreams/upstreams.ts';
import { readMonolith } from './legacy-edge.ts';

/** A customer as the monolith's API answers one (`GET|PATCH /api/customers/:id`). */
export const legacyCustomer = z.object({
  id: z.number(),
  email: z.string(),
  name: z.string(),
  address: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type LegacyCustomer = z.output<typeof legacyCustomer>;

/**
 * customer's answer about `usr_legacy_<id>` in the monolith's shape (a missing profile is the
 * monolith's 404), for the edge's handlers that answer for the monolith.
 */
export async function inMonolithShape(
  id: number,
  asked: Promise<{
    customer?:
      | { email: string; name: string; address: string; createdAt: string; updatedAt: string }
      | undefined;
  }>,
): Promise<LegacyCustomer> {
  const missing = () => notFound('LEGACY.NOT_FOUND', `Customer ${id} does not exist`);
  const { customer } = await asked.catch((error: unknown) => {
    if ((error as { kind?: string }).kind === 'not_found') throw missing();
    throw error;
  });
  if (!customer) throw missing();
  const { email, name, address, createdAt, updatedAt } = customer;
  return { id, email, name, address, createdAt, updatedAt };
}

/**
 * The monolith's customer `id` through the route's `legacy` cluster, read or (`write`) changed; its
 * refusals come back as its problems, an answer not in its shape as a 502.
 */
export function monolithCustomer(
  upstreams: Upstreams,
  request: FastifyRequest,
  id: number,
  write?: { method: 'PATCH'; body: unknown },
): Promise<LegacyCustomer> {
  return readMonolith(
    upstreams,
    request,
    `/api/customers/${id}`,
    legacyCustomer,
    "the monolith's customer was not what the gateway reads",
    write,
  );
}
