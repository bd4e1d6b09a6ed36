import {
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { streamFor } from '../messaging/nats-bus/nats-naming.ts';
import type { EventLog, LoggedEvent, LogRead } from './event-log.port.ts';

/** Per stream, the sequence up to which it has been read. */
type Cursors = Map<string, number>;

const parse = (position: string | null): Cursors => {
  const cursors: Cursors = new Map();
  if (!position) return cursors;
  for (const part of position.split(',')) {
    const at = part.lastIndexOf('@');
    const seq = Number(part.slice(at + 1));
    if (at <= 0 || !Number.isSafeInteger(seq)) throw new Error(`not a JetStream log position: ${position}`);
    cursors.set(part.slice(0, at), seq);
  }
  return cursors;
};

const format = (cursors: Cursors): string =>
  [...cursors]
    .filter(([, seq]) => seq > 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([stream, seq]) => `${stream}@${seq}`)
    .join(',');

/** `mercato.events.<topic>.p<n>` → `<topic>`. */
const topicOf = (subject: string) => subject.slice('mercato.events.'.length, subject.lastIndexOf('.p'));

/**
 * JetStream's event streams as a log. Events live in one stream per bounded context, so there is
 * no sequence across contexts: a position is a cursor per stream (`EVENTS_ORDER@42,…`). Each
 * stream is scanned in its own order with a short-lived ordered consumer and the reader's topics
 * picked from it, so an aggregate's events keep their order (they share a context, hence a
 * stream); across contexts a read model must not depend on order. Needs no `filter_subjects`
 * list, so it works on NATS 2.9. A stream drops a repeated `Nats-Msg-Id` only within its duplicate
 * window (120 s): an event republished later is in it twice, and the read-model runner skips it.
 */
export class NatsEventLog implements EventLog {
  readonly name = 'nats';
  readonly #connection: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;

  private constructor(connection: NatsConnection, js: JetStreamClient, jsm: JetStreamManager) {
    this.#connection = connection;
    this.#js = js;
    this.#jsm = jsm;
  }

  static async connect(url: string): Promise<NatsEventLog> {
    const connection = await connect({ servers: url, name: 'event-log', maxReconnectAttempts: -1 });
    return new NatsEventLog(connection, jetstream(connection), await jetstreamManager(connection));
  }

  async read(
    topics: readonly string[],
    after: string | null,
    options: { limit: number; upTo?: string | null },
  ): Promise<LogRead> {
    const cursors = parse(after);
    const upTo = options.upTo ? parse(options.upTo) : undefined;
    const wanted = new Set(topics);
    const bounds = await this.#bounds(topics);
    const events: LoggedEvent[] = [];
    let scanned = 0;
    for (const [stream, { first, last: streamLast }] of [...bounds].sort(([a], [b]) => a.localeCompare(b))) {
      // Messages before the stream's first were purged or aged out: nothing there to wait for.
      const from = Math.max(cursors.get(stream) ?? 0, first - 1);
      const last = Math.min(streamLast, upTo ? (upTo.get(stream) ?? 0) : Number.POSITIVE_INFINITY);
      const room = options.limit - scanned;
      if (from >= last || room <= 0) continue;
      const consumer = await this.#js.consumers.get(stream, {
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: from + 1,
      });
      try {
        const batch = await consumer.fetch({ max_messages: Math.min(last - from, room), expires: 1_000 });
        for await (const message of batch) {
          if (message.seq > last) break;
          scanned += 1;
          cursors.set(stream, message.seq);
          if (wanted.has(topicOf(message.subject)))
            events.push({ position: format(cursors), envelope: message.json() });
          if (message.seq >= last || scanned >= options.limit) break;
        }
      } finally {
        await consumer.delete().catch(() => undefined);
      }
    }
    return { events, position: cursors.size > 0 ? format(cursors) : after, more: scanned >= options.limit };
  }

  async head(topics: readonly string[]): Promise<string | null> {
    const lasts = await this.#lastSequences(topics);
    return lasts.size > 0 ? format(lasts) : null;
  }

  async countAfter(topics: readonly string[], after: string | null, cap: number): Promise<number> {
    // Messages of the streams not yet scanned: other topics of a context count too (an upper bound).
    const cursors = parse(after);
    let behind = 0;
    for (const [stream, last] of await this.#lastSequences(topics))
      behind += Math.max(0, last - (cursors.get(stream) ?? 0));
    return Math.min(cap, behind);
  }

  reached(position: string | null, target: string | null): boolean {
    const at = parse(position);
    return [...parse(target)].every(([topic, seq]) => (at.get(topic) ?? 0) >= seq);
  }

  async close(): Promise<void> {
    await this.#connection.drain().catch(() => undefined);
  }

  /** The first and last sequence of each stream the topics live in (0 when it does not exist yet). */
  async #bounds(topics: readonly string[]): Promise<Map<string, { first: number; last: number }>> {
    const bounds = new Map<string, { first: number; last: number }>();
    for (const name of new Set(topics.map((topic) => streamFor('topic', topic).name))) {
      const info = await this.#jsm.streams.info(name).catch(() => undefined);
      bounds.set(name, { first: info?.state.first_seq ?? 0, last: info?.state.last_seq ?? 0 });
    }
    return bounds;
  }

  async #lastSequences(topics: readonly string[]): Promise<Cursors> {
    return new Map([...(await this.#bounds(topics))].map(([stream, { last }]) => [stream, last]));
  }
}
