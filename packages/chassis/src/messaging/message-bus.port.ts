import type { Envelope } from '@mercato/contracts';

export type DestinationKind = 'topic' | 'queue';

/** A message on its way out: an event to a topic (every group gets it) or a command to a queue (one consumer does). */
export interface OutgoingMessage {
  kind: DestinationKind;
  /** Topic name (the event type, e.g. `product.created`) or queue name (e.g. `inventory.commands`). */
  destination: string;
  /** Ordering is kept per key within a group: the aggregate id. */
  key: string;
  envelope: Envelope;
}

/** One delivery of one message to one consumer of a group. */
export interface Delivery {
  messageId: string;
  destination: string;
  key: string;
  /** As received: the consumer validates and upcasts it. */
  envelope: unknown;
  /** 1 on first delivery, then counting redeliveries. */
  attempt: number;
  ack: () => Promise<void>;
  /** Hands the message back to be delivered again after `delayMs`; its key waits meanwhile. */
  retryLater: (delayMs: number) => Promise<void>;
}

export interface SubscriptionOptions {
  /** Consumer group: every group gets every message of its topics; members of a group compete. */
  group: string;
  kind: DestinationKind;
  destinations: readonly string[];
  /** How many deliveries (of different keys) one member handles at once. */
  concurrency?: number;
  onDelivery: (delivery: Delivery) => Promise<void>;
}

export interface Subscription {
  /** Stops taking new deliveries and waits for those in hand. */
  stop: () => Promise<void>;
}

/** The bus port. Adapters: PostgreSQL message store, NATS JetStream, and an in-memory fake. */
export interface MessageBus {
  readonly name: string;
  /** Publishes in order; resolves once the bus holds every message durably. Duplicated ids are dropped. */
  publish: (messages: readonly OutgoingMessage[]) => Promise<void>;
  subscribe: (options: SubscriptionOptions) => Promise<Subscription>;
  /** Messages of these destinations that a group has not yet acknowledged. */
  lag: (group: string, kind: DestinationKind, destinations: readonly string[]) => Promise<number>;
  close: () => Promise<void>;
}
