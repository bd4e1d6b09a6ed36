/**
 * A consumer of the capture's events on the bus, through the chassis bus API (`MessageBus.subscribe`,
 * a consumer group of its own): it records when each streamed change of a customer reached it, by
 * the source transaction's id the envelope carries, and acknowledges it.
 */
import type { MessageBus, Subscription } from '@mercato/chassis';
import { legacyCustomerChanged } from '@mercato/contracts';

interface ChangeEnvelope {
  data?: { source?: { kind?: string; tx_id?: number; committed_at?: string } };
}

export interface Arrival {
  /** Wall-clock ms (sub-ms precision) when the delivery reached the handler. */
  at: number;
  /** The monolith's commit time as the envelope says (`data.source.committed_at`, whole ms). */
  committedAt: number;
}

/** Wall-clock milliseconds with sub-millisecond precision (bench/bus does the same). */
export const epochMs = (): number => performance.timeOrigin + performance.now();

export class BusArrivals {
  /** Streamed changes by source transaction id (32 bits, as pgoutput sends it). */
  readonly streamed = new Map<number, Arrival>();
  /** Deliveries of a transaction id already seen (the bus delivers at least once). */
  duplicates = 0;
  /** Snapshot rows delivered (the group joined after the snapshot: the topic's history). */
  snapshotRows = 0;
  #subscription: Subscription | undefined;

  async subscribe(bus: MessageBus, group: string): Promise<void> {
    this.#subscription = await bus.subscribe({
      group,
      kind: 'topic',
      destinations: [legacyCustomerChanged.type],
      concurrency: 64,
      onDelivery: async (delivery) => {
        const at = epochMs();
        const source = (delivery.envelope as ChangeEnvelope).data?.source;
        if (source?.kind === 'snapshot') this.snapshotRows += 1;
        else if (source?.tx_id !== undefined) {
          if (this.streamed.has(source.tx_id)) this.duplicates += 1;
          else this.streamed.set(source.tx_id, { at, committedAt: Date.parse(source.committed_at ?? '') });
        }
        await delivery.ack();
      },
    });
  }

  async stop(): Promise<void> {
    await this.#subscription?.stop();
  }
}
