import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { inTransaction } from '../../db/database.ts';
import type { Logger } from '../../logging/create-logger.ts';
import type {
  DestinationKind,
  MessageBus,
  OutgoingMessage,
  Subscription,
  SubscriptionOptions,
} from '../message-bus.port.ts';
import { MESSAGE_RETENTION, RetentionSweeper } from '../retention-sweeper.ts';
import { PostgresSubscription } from './postgres-subscription.ts';

const BUS_CHANNEL_PREFIX = 'mercato_bus_';
/** Hex digits of the group name's MD5 in its channel: here and, as an argument, in the publish function alike. */
const BUS_CHANNEL_DIGITS = 20;

/**
 * The channel a publish notifies for each delivery group it gave new deliveries (the group's name
 * as payload): `mercato_bus_` and 20 hex digits of the name's MD5, an identifier of bounded length
 * whatever the group is called. A member LISTENs only on its own groups' channels, so a publish
 * wakes the processes that have something to claim and no other; on one channel for all groups,
 * every service's listener connection received (and its process parsed and dropped) every
 * publish's notifications.
 */
export const busChannel = (group: string): string =>
  `${BUS_CHANNEL_PREFIX}${createHash('md5').update(group).digest('hex').slice(0, BUS_CHANNEL_DIGITS)}`;

/**
 * The one channel earlier releases notified for every group (payload: the group): still listened
 * on, so a member is woken by a publisher of the release before during a rolling release. Nothing
 * of this release notifies it, so it costs nothing once every process runs this one.
 */
export const BUS_CHANNEL = 'mercato_bus';

/** Channel notified (empty payload) by every publish that adds topic messages: the event log grew. */
export const LOG_CHANNEL = 'mercato_log';

const TOPIC_LOCK_PREFIX = 'mercato-bus-topic:';

/**
 * Stores the messages in order, fans them out to every subscribed group (or the queue's group),
 * notifies those groups and readers of the log, under the shared per-topic locks: one round trip,
 * one transaction (the migration `publish-function` says why it is a function).
 */
const PUBLISH =
  'SELECT bus_publish($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6, $7, $8, $9)';

/**
 * The delivery groups a subscription reads: a topic's consumer group gets its own copy of every
 * message; a queue's messages go to one group named for the queue, whatever the consumer group
 * is called (a queue is named by its destination, ARCHITECTURE §3), so members of any group compete.
 */
export const deliveryGroups = (
  kind: DestinationKind,
  group: string,
  destinations: readonly string[],
): string[] => (kind === 'queue' ? destinations.map((queue) => `queue:${queue}`) : [group]);

export interface PostgresBusSettings {
  /** The message store's own database (`messages`), already migrated. */
  pool: pg.Pool;
  /** Connection string for the dedicated LISTEN connection. */
  listenUrl: string;
  logger: Logger;
  /**
   * How long a claimed delivery stays hidden from other members before it is redelivered, unless
   * its member renews the claim (it does while the handler runs): how soon the deliveries of a
   * member that died are handed to another.
   */
  visibilityTimeoutMs?: number;
  /**
   * Whether a member renews its claims while handlers run (default true). Off only in tests that
   * need a claim to lapse under a live member, as when it is paused or cut off from the store.
   */
  renewClaims?: boolean;
  /**
   * Safety-net poll (default 30 s); notifications do the fast path, and a member with nothing to
   * claim sleeps until the next claim lapses or retry falls due, if that is sooner. The poll only
   * covers what no notification announces and no due time predicts (a member that died after
   * pushing a retry back earlier than the claim it held), so it can be rare.
   */
  pollIntervalMs?: number;
  /**
   * This process's member id, stable across its restarts and never shared by two live processes
   * (`MERCATO_INSTANCE_ID`): a restarted member releases what its predecessor held at once instead
   * of waiting out the visibility timeout (default: random, and it waits).
   */
  memberId?: string;
  batchSize?: number;
  /**
   * Messages every group has acknowledged are removed once older than this (0: kept for ever). A
   * group that joins a topic later receives the history still retained, as on JetStream.
   */
  retentionMs?: number;
}

/**
 * The PostgreSQL message store: topics with consumer groups, work queues, per-key order,
 * visibility timeout and redelivery. Publishing fans a message out into one delivery row per
 * group in the same statement; consumers claim the head delivery of each key with
 * `FOR UPDATE SKIP LOCKED` and wake on `LISTEN/NOTIFY`.
 */
export class PostgresMessageBus implements MessageBus {
  readonly name = 'postgres';
  readonly #settings: Required<PostgresBusSettings>;
  readonly #subscriptions = new Set<PostgresSubscription>();
  /** Subscriptions made per set of delivery groups, so a second one here gets its own member id. */
  readonly #members = new Map<string, number>();
  readonly #randomMember = randomBytes(6).toString('hex');
  /** The channels of every group a subscription of this bus has had: LISTENed on its connection. */
  readonly #channels = new Set<string>();
  #listener: pg.Client | undefined;
  #listening: Promise<pg.Client> | undefined;
  #closed = false;
  readonly #retention: RetentionSweeper | undefined;

  constructor(settings: PostgresBusSettings) {
    this.#settings = {
      // Short, because it is how long a dead member's deliveries wait before another member gets
      // them when it was not restarted under its instance id (then they are released at once).
      visibilityTimeoutMs: 2_000,
      renewClaims: true,
      pollIntervalMs: 30_000,
      memberId: '',
      batchSize: 200,
      retentionMs: 0,
      ...settings,
    };
    if (this.#settings.retentionMs > 0) {
      this.#retention = new RetentionSweeper({
        pool: this.#settings.pool,
        logger: this.#settings.logger,
        what: 'acknowledged bus messages',
        deleteBatch: MESSAGE_RETENTION,
        retentionMs: this.#settings.retentionMs,
      });
      this.#retention.start();
    }
  }

  async publish(messages: readonly OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    // Duplicate ids insert nothing and notify nobody. A group that joins a topic either sees this
    // batch in its copy of the history or is seen by this batch's fan-out, never neither (the
    // function's shared locks against subscribe()'s exclusive ones).
    await this.#settings.pool.query(PUBLISH, [
      messages.map((message) => message.kind),
      messages.map((message) => message.destination),
      messages.map((message) => message.key),
      messages.map((message) => message.envelope.event_id),
      messages.map((message) => JSON.stringify(message.envelope)),
      BUS_CHANNEL_PREFIX,
      BUS_CHANNEL_DIGITS,
      LOG_CHANNEL,
      TOPIC_LOCK_PREFIX,
    ]);
  }

  async subscribe(options: SubscriptionOptions): Promise<Subscription> {
    const group = options.group;
    if (options.kind === 'topic') {
      for (const topic of options.destinations) {
        await inTransaction(this.#settings.pool, async (client) => {
          await client.query('SELECT pg_advisory_xact_lock(hashtext($1 || $2))', [TOPIC_LOCK_PREFIX, topic]);
          // A group joining a topic first receives the topic's history, as a new JetStream consumer would.
          await client.query(
            `WITH joined AS (
               INSERT INTO bus_subscriptions (group_name, topic) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING topic
             )
             INSERT INTO bus_deliveries (group_name, position, partition_key, destination)
             SELECT $1, m.position, m.partition_key, m.destination
               FROM bus_messages m JOIN joined j ON m.kind = 'topic' AND m.destination = j.topic
              ORDER BY m.position
             ON CONFLICT DO NOTHING`,
            [group, topic],
          );
        });
      }
    }
    const groups = deliveryGroups(options.kind, options.group, options.destinations);
    await this.#listenTo(groups);
    const seen = (this.#members.get(groups.join('\n')) ?? 0) + 1;
    this.#members.set(groups.join('\n'), seen);
    const stable = this.#settings.memberId !== '';
    const subscription = new PostgresSubscription({
      pool: this.#settings.pool,
      groups,
      memberId: `${stable ? this.#settings.memberId : this.#randomMember}_${seen}`,
      stableMemberId: stable,
      options,
      logger: this.#settings.logger,
      visibilityTimeoutMs: this.#settings.visibilityTimeoutMs,
      renewClaims: this.#settings.renewClaims,
      pollIntervalMs: this.#settings.pollIntervalMs,
      batchSize: this.#settings.batchSize,
      onStop: (stopped) => this.#subscriptions.delete(stopped),
    });
    this.#subscriptions.add(subscription);
    await subscription.start();
    return subscription;
  }

  async lag(group: string, kind: DestinationKind, destinations: readonly string[]): Promise<number> {
    const { rows } = await this.#settings.pool.query<{ pending: number }>(
      'SELECT count(*)::int AS pending FROM bus_deliveries WHERE group_name = ANY($1::text[])',
      [deliveryGroups(kind, group, destinations)],
    );
    return rows[0]?.pending ?? 0;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#retention?.stop();
    await Promise.all([...this.#subscriptions].map((subscription) => subscription.stop()));
    await this.#listener?.end().catch(() => undefined);
    this.#listener = undefined;
  }

  /** LISTENs on the groups' channels from now on (again after a reconnection). */
  async #listenTo(groups: readonly string[]): Promise<void> {
    const client = await this.#listen();
    for (const channel of groups.map(busChannel)) {
      if (this.#channels.has(channel)) continue;
      this.#channels.add(channel);
      await client.query(`LISTEN ${channel}`);
    }
  }

  /** One LISTEN connection per bus, re-established if it drops; polling covers the gap. */
  #listen(): Promise<pg.Client> {
    this.#listening ??= (async () => {
      const client = new pg.Client({
        connectionString: this.#settings.listenUrl,
        application_name: 'bus-listener',
      });
      client.on('error', (error) => {
        this.#settings.logger.warn({ error }, 'bus listener connection lost; reconnecting');
        this.#listening = undefined;
        this.#listener = undefined;
        if (!this.#closed) setTimeout(() => void this.#relisten(), 1_000).unref();
      });
      // One handler per connection routes each notification to the subscriptions of its group.
      client.on('notification', (notification) => {
        for (const subscription of this.#subscriptions) {
          if (subscription.groups.includes(notification.payload ?? '')) subscription.wake();
        }
      });
      await client.connect();
      // Its groups' channels (all of them after a reconnection) and the one of the release before.
      await client.query([BUS_CHANNEL, ...this.#channels].map((channel) => `LISTEN ${channel};`).join(' '));
      this.#listener = client;
      return client;
    })();
    return this.#listening;
  }

  async #relisten(): Promise<void> {
    try {
      await this.#listen();
      // Anything published while the connection was down is picked up now rather than at the next poll.
      for (const subscription of this.#subscriptions) subscription.wake();
    } catch (error) {
      this.#settings.logger.warn({ error }, 'bus listener could not reconnect; retrying');
      this.#listening = undefined;
      if (!this.#closed) setTimeout(() => void this.#relisten(), 1_000).unref();
    }
  }
}
