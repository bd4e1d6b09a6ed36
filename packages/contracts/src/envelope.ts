import * as z from 'zod';

/**
 * The canonical message envelope (ARCHITECTURE §3), the same JSON on every bus. Events and commands
 * share it; `event_type` says which, and `data` is validated against that type's versioned schema.
 */
export const envelopeSchema = z.object({
  event_id: z.string().min(1).max(64),
  event_type: z
    .string()
    .regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/, { error: 'expected dotted lowercase words' }),
  event_version: z.string().regex(/^\d+\.\d+$/, { error: 'expected MAJOR.MINOR' }),
  timestamp: z.iso.datetime({ offset: true }),
  source: z.string().min(1).max(64),
  correlation_id: z.string().min(1).max(128),
  causation_id: z.string().min(1).max(128).nullable(),
  data: z.record(z.string(), z.unknown()),
  metadata: z.looseObject({
    user_id: z.string().optional(),
    tenant_id: z.string().optional(),
    traceparent: z.string().optional(),
  }),
});

export type Envelope<Data extends Record<string, unknown> = Record<string, unknown>> = Omit<
  z.output<typeof envelopeSchema>,
  'data'
> & { data: Data };

export type EnvelopeMetadata = Envelope['metadata'];
