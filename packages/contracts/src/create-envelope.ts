import type { Envelope, EnvelopeMetadata } from './envelope.ts';
import type { MessageContract } from './message-contract.ts';
import { ulid } from './ulid.ts';

export interface EnvelopeOptions<Data extends Record<string, unknown>> {
  contract: MessageContract<Data>;
  data: Data;
  source: string;
  correlationId: string;
  /** The message (or request) that caused this one; null for a first cause. */
  causationId?: string | null;
  metadata?: EnvelopeMetadata;
  now?: Date;
}

/** A new envelope at the contract's current version, with a fresh sortable id. */
export function createEnvelope<Data extends Record<string, unknown>>(
  options: EnvelopeOptions<Data>,
): Envelope<Data> {
  const prefix = options.contract.kind === 'command' ? 'cmd' : 'evt';
  return {
    event_id: `${prefix}_${ulid()}`,
    event_type: options.contract.type,
    event_version: options.contract.version,
    timestamp: (options.now ?? new Date()).toISOString(),
    source: options.source,
    correlation_id: options.correlationId,
    causation_id: options.causationId ?? null,
    data: options.data,
    metadata: options.metadata ?? {},
  };
}
