import {
  newId,
  type Outbox,
  type OutboxEntry,
  type PostgresEventStore,
  type StatementPart,
  type Transaction,
} from '@mercato/chassis';
import type { OrderRepository, RecordedOrderEvent } from '../../application/order-repository.port.ts';
import { evolve, type Order } from '../../domain/order.ts';
import type { OrderEvent } from '../../domain/order-events.ts';
import { decodeOrderEvent, encodeOrderEvent, ORDER_SNAPSHOT, reviveOrder } from './order-event-codec.ts';

const streamOf = (orderId: string) => `order-${orderId}`;

/** Orders on the chassis event store, one stream per order, with a snapshot every N events. */
export class EventSourcedOrders implements OrderRepository {
  readonly #store: PostgresEventStore;
  readonly #outbox: Outbox;
  readonly #snapshotEvery: number;

  constructor(store: PostgresEventStore, outbox: Outbox, snapshotEvery: number) {
    this.#store = store;
    this.#outbox = outbox;
    this.#snapshotEvery = snapshotEvery;
  }

  async load(
    orderId: string,
    options: { asOf?: Date; transaction?: Transaction } = {},
  ): Promise<{ order: Order | undefined; version: number }> {
    const { state, version } = await this.#load(streamOf(orderId), options);
    return { order: reviveOrder(state), version };
  }

  async append(
    transaction: Transaction,
    orderId: string,
    expectedVersion: number,
    events: readonly OrderEvent[],
    outbox: readonly OutboxEntry[],
    also: readonly StatementPart[] = [],
  ): Promise<number> {
    const stream = streamOf(orderId);
    const messages = stampVersions(outbox, expectedVersion, events.length);
    // The events, their messages and `also` (a saga's write) in one statement.
    const { parts, version, asConflict } = this.#store.appendPart(
      stream,
      expectedVersion,
      events.map((event) => encodeOrderEvent(event, newId('oev'))),
    );
    try {
      await this.#outbox.append(transaction, messages, [...parts, ...also]);
    } catch (error) {
      throw asConflict(error);
    }
    // A snapshot when the stream crossed a multiple of N: loading then reads at most N-1 events.
    if (Math.floor(version / this.#snapshotEvery) > Math.floor(expectedVersion / this.#snapshotEvery)) {
      const { state } = await this.#load(stream, { transaction });
      await this.#store.saveSnapshot(transaction, stream, version, state, ORDER_SNAPSHOT);
    }
    return version;
  }

  async events(orderId: string): Promise<RecordedOrderEvent[]> {
    return (await this.#store.readStream(streamOf(orderId))).map((stored) => ({
      event: decodeOrderEvent(stored),
      version: stored.streamVersion,
      recordedAt: stored.recordedAt,
      globalPosition: stored.position.globalPosition,
    }));
  }

  #load(stream: string, options: { asOf?: Date; transaction?: Transaction }) {
    return this.#store.load<Order | undefined>(
      stream,
      (order, stored) => evolve(reviveOrder(order), decodeOrderEvent(stored)),
      undefined,
      { ...options, snapshot: ORDER_SNAPSHOT },
    );
  }
}

/**
 * Each event message names the order's version after its event, so a read model can tell a reader
 * that waits for its own write when it has caught up (read-your-writes by order version), at every
 * version the write side hands out. The i-th event message is the i-th event's (`orderMessages`
 * gives one per event, in order); any other count is a bug that would leave a version unreadable.
 */
function stampVersions(
  outbox: readonly OutboxEntry[],
  expectedVersion: number,
  eventCount: number,
): OutboxEntry[] {
  const published = outbox.filter((entry) => entry.kind === 'topic').length;
  if (published !== eventCount)
    throw new Error(`an order append of ${eventCount} events must publish one event each, not ${published}`);
  let version = expectedVersion;
  return outbox.map((entry) => {
    if (entry.kind !== 'topic') return entry;
    version += 1;
    const metadata = { ...entry.envelope.metadata, order_version: version };
    return { ...entry, envelope: { ...entry.envelope, metadata } };
  });
}
