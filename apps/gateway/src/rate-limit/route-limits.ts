import { z } from 'zod';
import type { RouteLimits } from './rate-limit.hook.ts';
import { algorithms, type RateLimitPolicy } from './rate-limit-policy.ts';

/** `algorithm:limit/windowMs`, e.g. `token_bucket:100/10000`, or `off`. */
export const policySetting = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .refine((value) => value === 'off' || /^[a-z_]+:\d+\/\d+$/.test(value), {
      error: `expected algorithm:limit/windowMs (algorithms: ${algorithms.join(', ')}) or off`,
    })
    .transform((value): RateLimitPolicy | undefined => {
      if (value === 'off') return undefined;
      const [algorithm = '', rest = ''] = value.split(':');
      const [limit = '0', windowMs = '0'] = rest.split('/');
      return {
        algorithm: algorithm as RateLimitPolicy['algorithm'],
        limit: Number(limit),
        windowMs: Number(windowMs),
      };
    })
    .refine(
      (policy) =>
        policy === undefined ||
        (algorithms.includes(policy.algorithm) && policy.limit > 0 && policy.windowMs > 0),
      {
        error: `expected one of ${algorithms.join(', ')} with a positive limit and window`,
      },
    );

const credentialRoutes = new Set([
  'POST /api/auth/login',
  'POST /api/auth/register',
  'POST /api/auth/refresh',
]);

/** Credential routes get their own, tighter policy; every other /api route the default one. */
export const routeLimits = (policies: {
  default?: RateLimitPolicy;
  credentials?: RateLimitPolicy;
}): RouteLimits => ({
  policyFor: (method, route) => {
    if (credentialRoutes.has(`${method} ${route}`)) return policies.credentials;
    return route.startsWith('/api/') ? policies.default : undefined;
  },
});
