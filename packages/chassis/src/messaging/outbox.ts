import type { Envelope, MessageRegistry } from '@mercato/contracts';
import { context, propagation } from '@opentelemetry/api';
import type { Transaction } from '../db/database.ts';
import { renderParts, type StatementPart, writeParts } from '../db/statement-part.ts';
import { AppError } from '../errors/app-error.ts';
import type { DestinationKind } from './message-bus.port.ts';

export const OUTBOX_CHANNEL = 'mercato_outbox';

export interface OutboxEntry {
  kind: DestinationKind;
  destination: string;
  key: string;
  envelope: Envelope;
}

/**
 * Writes messages to the service's outbox inside the caller's transaction, so they exist if and only
 * if the state change commits. Each is checked against its contract first; the NOTIFY is delivered
 * on commit and wakes the relay.
 */
export class Outbox {
  readonly #registry: MessageRegistry;

  constructor(registry: MessageRegistry) {
    this.#registry = registry;
  }

  /**
   * Appends the entries in the caller's transaction, with `parts` (another component's writes, such
   * as a saga's new state) in the same statement.
   */
  async append(
    client: Transaction,
    entries: readonly OutboxEntry[],
    parts: readonly StatementPart[] = [],
  ): Promise<void> {
    if (entries.length === 0) return writeParts(client, parts);
    for (const entry of entries) {
      // The consumer's span continues this trace (W3C traceparent travels in the envelope).
      if (!entry.envelope.metadata.traceparent) {
        const carrier: { traceparent?: string } = {};
        propagation.inject(context.active(), carrier);
        if (carrier.traceparent) entry.envelope.metadata.traceparent = carrier.traceparent;
      }
      const checked = this.#registry.checkOutgoing(entry.envelope);
      if (!checked.ok) {
        throw new AppError({ code: 'MESSAGING.INVALID_MESSAGE', kind: 'internal', message: checked.reason });
      }
    }
    const params: unknown[] = [
      entries.map((entry) => entry.envelope.event_id),
      entries.map((entry) => entry.kind),
      entries.map((entry) => entry.destination),
      entries.map((entry) => entry.key),
      entries.map((entry) => JSON.stringify(entry.envelope)),
    ];
    const others = parts.length === 0 ? '' : `${renderParts(parts, params)},\n`;
    // One round trip: the rows, the other writes and the NOTIFY that wakes the relay (on commit).
    await client.query(
      `WITH ${others}inserted AS (
         INSERT INTO mercato_outbox (message_id, kind, destination, partition_key, envelope)
         SELECT m.message_id, m.kind, m.destination, m.partition_key, m.envelope
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[])
             AS m(message_id, kind, destination, partition_key, envelope)
         RETURNING 1)
       SELECT pg_notify('${OUTBOX_CHANNEL}', ''), (SELECT count(*) FROM inserted) AS appended`,
      params,
    );
  }
}
