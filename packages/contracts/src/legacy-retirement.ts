import { z } from 'zod';

/**
 * `PUT /admin/legacy/retirement` on each service that owns a capability taken from the monolith
 * (customer, inventory), as `mercato migrate retire` calls it: mark the monolith retiring (the service
 * refuses hand-backs from then), `for_good` once it did retire (never taken back), or take the mark
 * back (`retired: false`) when the monolith refused to retire.
 */
export const legacyRetirementMark = z
  .object({ retired: z.boolean(), for_good: z.boolean().default(false) })
  .refine((mark) => mark.retired || !mark.for_good, { error: 'for_good needs retired: true' });

/** The service's answer: since when it is marked (null once taken back), and whether for good. */
export const legacyRetirementMarked = z.object({ retired_at: z.string().nullable(), for_good: z.boolean() });
