import * as z from 'zod';

/** The problem+json shape every error at the edge has (RFC 9457 plus our stable code). */
export const problem = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number(),
  detail: z.string(),
  code: z.string(),
  retryable: z.boolean().optional(),
  errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
});

export const problems = {
  400: problem,
  401: problem,
  403: problem,
  404: problem,
  409: problem,
  429: problem,
  503: problem,
  504: problem,
};

/** The parts of a composed answer that failed or were late (see composition/compose-parts.ts). */
export const degraded = z.array(
  z.object({ part: z.string(), reason: z.string(), code: z.string().optional() }),
);

/** `:id` of a product or customer. */
export const idParam = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9_-]+$/),
});

export const skuParam = z.object({
  sku: z
    .string()
    .min(3)
    .max(32)
    .regex(/^[A-Za-z0-9-]+$/, { error: 'expected letters, digits and -' })
    .transform((sku) => sku.toUpperCase()),
});

/** int64 money from gRPC (bigint) as a JSON number; minor units stay far below 2^53. */
export const minor = (value: bigint): number => Number(value);
