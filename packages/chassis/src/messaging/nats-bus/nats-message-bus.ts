import {
  AckPolicy,
  type ConsumerConfig,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  ReplayPolicy,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import { headers, type NatsConnection, nanos } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import type { Logger } from '../../logging/create-logger.ts';
import { KeyedDispatcher } from '../keyed-dispatcher.ts';
import type {
  DestinationKind,
  MessageBus,
  OutgoingMessage,
  Subscription,
  SubscriptionOptions,
} from '../message-bus.port.ts';
import {
  durableFor,
  leaseNamespace,
  partitionOf,
  type StreamPlan,
  streamFor,
  subjectFor,
} from './nats-naming.ts';
import { NatsPartitionWorker } from './nats-partition-worker.ts';
import { PartitionLeases, type Predecessor } from './partition-leases.ts';

export interface NatsBusSettings {
  url: string;
  logger: Logger;
  /** Partitions per destination; each is consumed by one member of a group at a time. */
  partitions?: number;
  visibilityTimeoutMs?: number;
  /** Whether a member renews a message's ack wait while its handler runs (default true; tests only). */
  renewWhileHandling?: boolean;
  /** Messages of one partition a member may hold unacknowledged at once. */
  maxInFlightPerPartition?: number;
  /** A member not heard from for this long loses its partitions to the others. */
  leaseTtlMs?: number;
  /**
   * This process's lease member id, stable across its restarts and never shared by two live
   * processes, so a restarted member takes its own partitions back at once (default: random, and
   * a restarted member waits out `leaseTtlMs` like anyone else).
   */
  memberId?: string;
  /** Streams are created as file-backed with this many replicas (3 in a cluster). */
  replicas?: number;
}

const KEY_HEADER = 'Mercato-Key';
const LEASE_BUCKET = 'mercato_bus_leases';

/**
 * NATS JetStream adapter: one stream per bounded context (events) or per queue (commands), durable
 * pull consumers per group and partition, `Nats-Msg-Id` = event id for broker-side dedup. The
 * members of a group share the partitions through leases; a member pulls its partitions in
 * batches and handles different keys at once, each key in order.
 */
export class NatsMessageBus implements MessageBus {
  readonly name = 'nats';
  readonly #settings: Required<NatsBusSettings>;
  readonly #connection: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #streams = new Map<string, Promise<void>>();
  readonly #subscriptions = new Set<Subscription>();
  #leases: Promise<KV> | undefined;
  /** Consumers this process has subscribed, for lag: group → [stream, durable][]. */
  readonly #consumersByGroup = new Map<string, Array<[string, string]>>();
  /** Subscriptions made per lease namespace, so a second one in this process gets its own member id. */
  readonly #namespaces = new Map<string, number>();

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
    const complete = {
      partitions: 16,
      // Short, because it is how long a dead member's messages wait before anyone gets them (a
      // handler running longer renews it): at 5 s, under the crash test's kills, most PlaceOrder
      // steps outlived their own 5 s timeouts. A member restarted under its instance id pulls once
      // its process is this long (plus a margin) up: 2 s after start, within the first second of
      // being ready for a service that takes a second to start.
      visibilityTimeoutMs: 1_500,
      renewWhileHandling: true,
      maxInFlightPerPartition: 256,
      leaseTtlMs: 5_000,
      memberId: '',
      replicas: 1,
      ...settings,
    };
    const connection = await connect({
      servers: complete.url,
      name: 'mercato-bus',
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      // Otherwise every request (each publish) builds two Error objects for their stack traces:
      // a fifth of a relay's time at full load, measured in bench/bus.
      noAsyncTraces: true,
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
    const { partitions, visibilityTimeoutMs, maxInFlightPerPartition, logger } = this.#settings;
    const dispatcher = new KeyedDispatcher(options.concurrency ?? 16);
    const consumers = new Map<string, { stream: string; destination: string; subject: string }>();
    for (const destination of options.destinations) {
      const plan = streamFor(options.kind, destination);
      await this.#ensureStream(plan);
      for (let partition = 0; partition < partitions; partition++) {
        const durable = durableFor(options.group, destination, partition);
        await this.#ensureConsumer(plan.name, {
          durable_name: durable,
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.All,
          replay_policy: ReplayPolicy.Instant,
          filter_subject: subjectFor(options.kind, destination, partition),
          ack_wait: nanos(visibilityTimeoutMs),
          // Only the member holding the partition's lease pulls it, so many may be in flight.
          max_ack_pending: maxInFlightPerPartition,
          max_deliver: -1,
        });
        consumers.set(durable, {
          stream: plan.name,
          destination,
          subject: subjectFor(options.kind, destination, partition),
        });
      }
    }
    this.#consumersByGroup.set(options.group, [
      ...(this.#consumersByGroup.get(options.group) ?? []),
      ...[...consumers].map(([durable, { stream }]): [string, string] => [stream, durable]),
    ]);
    const workers = new Map<string, NatsPartitionWorker>();
    const namespace = leaseNamespace(options);
    const seen = (this.#namespaces.get(namespace) ?? 0) + 1;
    this.#namespaces.set(namespace, seen);
    const { memberId } = this.#settings;
    const leases = new PartitionLeases({
      kv: await this.#leaseBucket(),
      namespace,
      ...(memberId ? { memberId: seen === 1 ? memberId : `${memberId}_${seen}` } : {}),
      partitions: [...consumers.keys()],
      ttlMs: this.#settings.leaseTtlMs,
      logger,
      acquire: (durable, predecessor) => {
        const { stream, destination, subject } = consumers.get(durable) ?? {
          stream: '',
          destination: '',
          subject: '',
        };
        const worker = new NatsPartitionWorker({
          consumer: () => this.#js.consumers.get(stream, durable),
          connection: this.#connection,
          subject,
          destination,
          keyHeader: KEY_HEADER,
          visibilityTimeoutMs,
          renewWhileHandling: this.#settings.renewWhileHandling,
          pullBatch: Math.min(maxInFlightPerPartition, 128),
          dispatcher,
          logger,
          onDelivery: options.onDelivery,
        });
        workers.set(durable, worker);
        worker.start(this.#predecessorHoldsUntil(predecessor));
      },
      release: async (durable) => {
        const worker = workers.get(durable);
        workers.delete(durable);
        await worker?.stop();
      },
    });
    await leases.start();
    const subscription: Subscription = {
      stop: async () => {
        await leases.stop();
        this.#subscriptions.delete(subscription);
      },
    };
    this.#subscriptions.add(subscription);
    return subscription;
  }

  async lag(group: string, _kind: DestinationKind, _destinations: readonly string[]): Promise<number> {
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

  /**
   * Until when (on `performance.now()`'s clock) the member a partition was taken from may still
   * hold some of its messages. Its ack waits run out at most one visibility timeout after its last
   * renewal. This member id's previous process renewed nothing after it died, before this process
   * started (where `performance.now()` counts from). A member judged gone had not beaten for a lease
   * TTL, and renews no later than a third of a TTL after its last beat (it beats that often).
   */
  #predecessorHoldsUntil(predecessor: Predecessor): number {
    const { visibilityTimeoutMs, leaseTtlMs } = this.#settings;
    // The server marks a lapsed message for redelivery on its own timer; pulling before that would
    // hand out later messages of its key first, so this much past the lapse (a loaded server is late).
    const margin = Math.max(50, visibilityTimeoutMs / 3);
    if (predecessor === 'restarted') return visibilityTimeoutMs + margin;
    if (predecessor === 'silent')
      return performance.now() + Math.max(0, visibilityTimeoutMs - (2 * leaseTtlMs) / 3) + margin;
    return 0;
  }

  /** Creates the durable, or brings one made with older settings (in-flight limit, timeout) up to these. */
  async #ensureConsumer(stream: string, config: ConsumerConfig): Promise<void> {
    try {
      await this.#jsm.consumers.add(stream, config);
    } catch {
      await this.#jsm.consumers.update(stream, config.durable_name ?? '', config);
    }
  }

  #leaseBucket(): Promise<KV> {
    this.#leases ??= new Kvm(this.#js).create(LEASE_BUCKET, {
      history: 1,
      replicas: this.#settings.replicas,
    });
    this.#leases.catch(() => {
      this.#leases = undefined;
    });
    return this.#leases;
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
