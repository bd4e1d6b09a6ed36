import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import * as z from 'zod';

/** A workload identity: a service's name, also its ServiceAccount's (`spiffe://…/sa/<name>`). */
const identityName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,62}$/, { error: 'expected a service name such as order or order-view' });

/** `mercato.<package>.v1.<Service>/<Method>`, or `/*` for every method of that service. */
const grpcMethod = z.string().regex(/^mercato\.[a-z]+\.v1\.[A-Z][A-Za-z]*Service\/([A-Z][A-Za-z]*|\*)$/, {
  error: 'expected mercato.<package>.v1.<Name>Service/<Method> (or /*)',
});

/** `<METHOD> <path>`; the path is exact, or a prefix when it ends in `*` (as Istio matches paths). */
const httpRoute = z.string().regex(/^(GET|HEAD|POST|PUT|PATCH|DELETE) \/[A-Za-z0-9._~\-/]*\*?$/, {
  error: 'expected "<METHOD> /path" with at most a trailing * (GET /customers/*)',
});

const callers = z.array(identityName).min(1, { error: 'list at least one caller, or leave the entry out' });

const calledService = z.strictObject({
  grpc: z.record(grpcMethod, callers).optional(),
  http: z.record(httpRoute, callers).optional(),
  /**
   * Callers of a method (among its `grpc` callers) that act for no user: they may read any
   * customer's resource without a user's token (notification mailing about an order). Every other
   * caller of a customer-owned resource must carry the customer's token, or an admin's.
   */
  withoutUser: z.record(grpcMethod, callers).optional(),
});

/** The gRPC package a service's methods live in: `order-view` → `mercato.orderview.v1`. */
export const grpcPackageOf = (service: string): string => `mercato.${service.replaceAll('-', '')}.v1`;

export const callPolicySchema = z
  .strictObject({
    version: z.literal(1),
    trustDomain: z
      .string()
      .regex(/^[a-z0-9.-]+$/, { error: 'expected a trust domain such as mercato.local' }),
    namespace: z
      .string()
      .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, { error: 'expected a namespace name' }),
    identities: z.array(identityName).min(1),
    /** Reached from outside the platform (the edge) by anyone, on the HTTP port. */
    public: z.array(identityName).default([]),
    services: z.record(identityName, calledService),
  })
  .superRefine((policy, ctx) => {
    const known = new Set(policy.identities);
    const unknown = (name: string, path: (string | number)[]) => {
      if (!known.has(name))
        ctx.addIssue({ code: 'custom', path, message: `${name} is not one of the identities` });
    };
    policy.public.forEach((name, index) => {
      unknown(name, ['public', index]);
    });
    for (const identity of policy.identities)
      if (!(identity in policy.services))
        ctx.addIssue({
          code: 'custom',
          path: ['services'],
          message: `${identity} has no entry (write "${identity}: {}" if nothing may call it)`,
        });
    for (const [service, rules] of Object.entries(policy.services)) {
      unknown(service, ['services', service]);
      for (const [method, allowed] of Object.entries(rules.grpc ?? {})) {
        if (!method.startsWith(`${grpcPackageOf(service)}.`))
          ctx.addIssue({
            code: 'custom',
            path: ['services', service, 'grpc', method],
            message: `${service} serves ${grpcPackageOf(service)}.*, not ${method}`,
          });
        allowed.forEach((caller, index) => {
          unknown(caller, ['services', service, 'grpc', method, index]);
        });
      }
      for (const [method, trusted] of Object.entries(rules.withoutUser ?? {}))
        trusted.forEach((caller, index) => {
          if (!(rules.grpc?.[method] ?? []).includes(caller))
            ctx.addIssue({
              code: 'custom',
              path: ['services', service, 'withoutUser', method, index],
              message: `${caller} may act without a user on ${method} only if it may call it (list it under grpc)`,
            });
        });
      for (const [route, allowed] of Object.entries(rules.http ?? {}))
        allowed.forEach((caller, index) => {
          unknown(caller, ['services', service, 'http', route, index]);
        });
    }
  });

export type CallPolicy = z.output<typeof callPolicySchema>;

/** Each problem as `where: what` (a bad key of a record says what a key must be). */
export const describePolicyIssues = (error: z.ZodError): string[] =>
  error.issues.map((issue) => {
    const inner =
      issue.code === 'invalid_key' ? `: ${issue.issues.map((nested) => nested.message).join('; ')}` : '';
    return `${issue.path.join('.') || '(top level)'}: ${issue.message}${inner}`;
  });

/** The policy file, parsed and checked; a bad one throws naming each problem and where it is. */
export async function loadCallPolicy(file: string): Promise<CallPolicy> {
  const result = callPolicySchema.safeParse(parse(await readFile(file, 'utf8')));
  if (result.success) return result.data;
  throw new Error(
    `${file} is not a valid call policy:\n  ${describePolicyIssues(result.error).join('\n  ')}`,
  );
}

/** The SPIFFE id of an identity under a policy: spiffe://<trust domain>/ns/<namespace>/sa/<name>. */
export const spiffeIdOf = (policy: Pick<CallPolicy, 'trustDomain' | 'namespace'>, identity: string): string =>
  `spiffe://${policy.trustDomain}/ns/${policy.namespace}/sa/${identity}`;
