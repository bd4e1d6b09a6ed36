import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { headers, type NatsConnection, nanos } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import type { Logger } from '../../logging/create-logger.ts';
import type {
  DestinationKind,
  MessageBus,
  OutgoingMessage,
  Subscription,
  SubscriptionOptions,
} from '../message-bus.port.ts';
import { durableFor, partitionOf, type StreamPlan, streamFor, subjectFor } from './nats-naming.ts';
import { NatsPartitionWorker } from './nats-partition-worker.ts';

export interface NatsBusSettings {
  url: string;
  logger: Logger;
  /** Partitions per destination; each is consumed one message at a time per group. */
  partitions?: number;
  visibilityTimeoutMs?: number;
  /** Streams are created as file-backed with this many replicas (3 in a cluster). */
  replicas?: number;
}

const KEY_HEADER = 'Mercato-Key';

/**
 * NATS JetStream adapter: one stream per bounded context (events) or per queue (commands), durable
 * pull consumers per group and partition, `Nats-Msg-Id` = event id for broker-side dedup.
 */
export class NatsMessageBus implements MessageBus {
  readonly name = 'nats';
  readonly #settings: Required<NatsBusSettings>;
  readonly #connection: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #streams = new Map<string, Promise<void>>();
  readonly #subscriptions = new Set<Subscription>();
  /** Consumers this process has subscribed, for lag: group → [stream, durable][]. */
  readonly #consumersByGroup = new Map<string, Array<[string, string]>>();

  private constructor(
    settings: Required<NatsBusSettings>,
    connection: NatsConnection,
    jsm: JetStreamManager,
  ) {
    this.#settings = settings;
    this.#connection = connection;
    this.#jsm = jsm;
    this.#js = jetstream(connection);
  }

  static async connect(settings: NatsBusSettings): Promise<NatsMessageBus> {
    const complete = { partitions: 16, visibilityTimeoutMs: 30_000, replicas: 1, ...settings };
    const connection = await connect({
      servers: complete.url,
      name: 'mercato-bus',
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
    });
    void (async () => {
      for await (const status of connection.status()) {
        if (status.type === 'disconnect' || status.type === 'reconnect') {
          complete.logger.warn({ status: status.type }, 'NATS connection status changed');
        }
      }
    })();
    return new NatsMessageBus(complete, connection, await jetstreamManager(connection));
  }

  async publish(messages: readonly OutgoingMessage[]): Promise<void> {
    const plans = new Map<string, StreamPlan>();
    for (const message of messages) {
      const plan = streamFor(message.kind, message.destination);
      plans.set(plan.name, plan);
    }
    await Promise.all([...plans.values()].map((plan) => this.#ensureStream(plan)));
    // Sent back to back on one connection, so the server stores them in this order; then every
    // acknowledgement is awaited, so a resolved publish means every message is stored.
    const acks = messages.map((message) => {
      const meta = headers();
      meta.set(KEY_HEADER, message.key);
      const subject = subjectFor(
        message.kind,
        message.destination,
        partitionOf(message.key, this.#settings.partitions),
      );
      return this.#js.publish(subject, JSON.stringify(message.envelope), {
        msgID: message.envelope.event_id,
        headers: meta,
      });
    });
    await Promise.all(acks);
  }

  async subscribe(options: SubscriptionOptions): Promise<Subscription> {
    const workers: NatsPartitionWorker[] = [];
    const consumers: Array<[string, string]> = [];
    for (const destination of options.destinations) {
      const plan = streamFor(options.kind, destination);
      await this.#ensureStream(plan);
      for (let partition = 0; partition < this.#settings.partitions; partition++) {
        const durable = durableFor(options.group, destination, partition);
        await this.#jsm.consumers.add(plan.name, {
          durable_name: durable,
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.All,
          filter_subject: subjectFor(options.kind, destination, partition),
          ack_wait: nanos(this.#settings.visibilityTimeoutMs),
          // One message in flight per partition and group: per-key order across members.
          max_ack_pending: 1,
          max_deliver: -1,
        });
        consumers.push([plan.name, durable]);
        const consumer = await this.#js.consumers.get(plan.name, durable);
        workers.push(
          new NatsPartitionWorker({
            consumer,
            destination,
            keyHeader: KEY_HEADER,
            visibilityTimeoutMs: this.#settings.visibilityTimeoutMs,
            logger: this.#settings.logger,
            onDelivery: options.onDelivery,
          }),
        );
      }
    }
    this.#consumersByGroup.set(options.group, [
      ...(this.#consumersByGroup.get(options.group) ?? []),
      ...consumers,
    ]);
    for (const worker of workers) worker.start();
    const subscription: Subscription = {
      stop: async () => {
        await Promise.all(workers.map((worker) => worker.stop()));
        this.#subscriptions.delete(subscription);
      },
    };
    this.#subscriptions.add(subscription);
    return subscription;
  }

  async lag(group: string, _kind: DestinationKind): Promise<number> {
    let pending = 0;
    for (const [stream, durable] of this.#consumersByGroup.get(group) ?? []) {
      const info = await this.#jsm.consumers.info(stream, durable);
      pending += info.num_pending + info.num_ack_pending;
    }
    return pending;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#subscriptions].map((subscription) => subscription.stop()));
    await this.#connection.drain().catch(() => this.#connection.close());
  }

  #ensureStream(plan: StreamPlan): Promise<void> {
    let ensured = this.#streams.get(plan.name);
    if (!ensured) {
      ensured = (async () => {
        try {
          await this.#jsm.streams.info(plan.name);
        } catch {
          await this.#jsm.streams.add({
            name: plan.name,
            subjects: plan.subjects,
            retention: plan.workQueue ? RetentionPolicy.Workqueue : RetentionPolicy.Limits,
            storage: StorageType.File,
            num_replicas: this.#settings.replicas,
            duplicate_window: nanos(120_000),
          });
        }
      })();
      // A failed attempt is forgotten, so the next publish tries again.
      ensured.catch(() => this.#streams.delete(plan.name));
      this.#streams.set(plan.name, ensured);
    }
    return ensured;
  }
}
