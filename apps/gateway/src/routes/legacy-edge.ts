import { AppError } from '@mercato/chassis';
import type { FastifyRequest } from 'fastify';
import * as z from 'zod';
import { forbidden, type Identification } from '../auth/identification.ts';
import { readJson } from '../upstreams/http-backend.ts';
import type { Upstreams } from '../upstreams/upstreams.ts';

/**
 * The drift checker's settle window: a row the monolith changed this recently may still be on its
 * way to the services, and a difference then is no fault of theirs.
 */
export const IN_FLIGHT_MS = 5_000;

/**
 * `:id` of the monolith's paths, refused before anyone is asked when it is not one. At most 15
 * digits: every such id is a safe integer (16 may not be, and would be read as another).
 */
export const legacyIdParams = z.object({
  id: z.string().regex(/^[1-9][0-9]{0,14}$/, { error: 'expected a positive integer id' }),
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
 * The monolith's `path` through the route's `legacy` cluster, read or (`write`) changed: its
 * refusals come back as its problems, an answer not in `schema`'s shape as a 502 saying `badAnswer`.
 */
export function readMonolith<Schema extends z.ZodType>(
  upstreams: Upstreams,
  request: FastifyRequest,
  path: string,
  schema: Schema,
  badAnswer: string,
  write?: { method: 'PATCH'; body: unknown },
): Promise<z.output<Schema>> {
  const cluster = request.gatewayRoute.clusterFor('legacy');
  if (!cluster)
    throw new AppError({ code: 'LEGACY.UNAVAILABLE', kind: 'unavailable', message: 'no legacy cluster' });
  return readJson(
    cluster,
    path,
    schema,
    upstreams.httpBackends,
    { code: 'LEGACY.BAD_ANSWER', message: badAnswer },
    write,
  );
}
