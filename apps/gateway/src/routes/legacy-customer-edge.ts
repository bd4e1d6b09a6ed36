import { AppError, notFound } from '@mercato/chassis';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { forbidden, type Identification } from '../auth/identification.ts';
import { readJson } from '../upstreams/http-backend.ts';
import type { Upstreams } from '../upstreams/upstreams.ts';

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

/** `:id` of the monolith's customer paths, refused before anyone is asked when it is not one. */
export const legacyIdParams = z.object({
  id: z.string().regex(/^[1-9][0-9]{0,15}$/, { error: 'expected a positive integer id' }),
});

/** The monolith's API checks nobody: whatever the table says, only the shop's operators reach it. */
export async function requireOperator(
  identification: Identification,
  request: FastifyRequest,
): Promise<void> {
  const principal = await identification.requirePrincipal(request);
  if (!principal.roles.includes('admin')) throw forbidden("The monolith's API needs the admin role");
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
  const cluster = request.gatewayRoute.clusterFor('legacy');
  if (!cluster)
    throw new AppError({ code: 'LEGACY.UNAVAILABLE', kind: 'unavailable', message: 'no legacy cluster' });
  return readJson(
    cluster,
    `/api/customers/${id}`,
    legacyCustomer,
    upstreams.httpBackends,
    { code: 'LEGACY.BAD_ANSWER', message: "the monolith's customer was not what the gateway reads" },
    write,
  );
}
