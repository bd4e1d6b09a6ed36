import * as z from 'zod';
import { algorithms, type RateLimitPolicy } from './rate-limit-policy.ts';

/** Parses `algorithm:limit/windowMs`, e.g. `token_bucket:100/10000`, or `off` (undefined). */
export const policySetting = z
  .string()
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
