import type { Pool } from '../db/database.ts';
import { listenToChannel } from '../db/pg-channel-listener.ts';
import { belowCommitHorizon } from '../event-sourcing/commit-horizon.ts';
import type { Logger } from '../logging/create-logger.ts';
import { LOG_CHANNEL } from '../messaging/postgres-bus/postgres-message-bus.ts';
import type { EventLog, LogRead } from './event-log.port.ts';

/** `tx.position`: the publishing transaction, then the message's place in the store. */
interface Cursor {
  tx: string;
  position: string;
}

const START: Cursor = { tx: '0', position: '0' };

const parse = (position: string | null): Cursor => {
  if (position === null) return START;
  const match = /^(\d{1,20})\.(\d{1,20})$/.exec(position);
  if (!match?.[1] || !match[2]) throw new Error(`not a PostgreSQL log position: ${position}`);
  return { tx: match[1], position: match[2] };
};

const format = (row: { tx: string; position: string }): string => `${row.tx}.${row.position}`;

const compare = (a: Cursor, b: Cursor): number => {
  const byTx = BigInt(a.tx) - BigInt(b.tx);
  if (byTx !== 0n) return byTx < 0n ? -1 : 1;
  const byPosition = BigInt(a.position) - BigInt(b.position);
  return byPosition === 0n ? 0 : byPosition < 0n ? -1 : 1;
};

/**
 * Only transactions older than every one of the store's database still running are read: none of
 * them can commit later. Transactions in services' own databases hold nothing back.
 */
const VISIBLE = belowCommitHorizon('b.tx');

/**
 * The PostgreSQL message store's topic messages as a log, in (transaction, position) order and
 * gated on the oldest transaction of its database still running, so that a message committed
 * late is never skipped.
 */
export class PostgresEventLog implements EventLog {
  readonly name = 'postgres';
  readonly #pool: Pool;
  readonly #ownsPool: boolean;
  readonly watch: EventLog['watch'];

  /** With `listen` (the store's URL and a logger), readers can `watch` the log: LISTEN on LOG_CHANNEL. */
  constructor(pool: Pool, options: { ownsPool?: boolean; listen?: { url: string; logger: Logger } } = {}) {
    this.#pool = pool;
    this.#ownsPool = options.ownsPool ?? false;
    const listen = options.listen;
    this.watch = listen
      ? (listener) =>
          listenToChannel({
            url: listen.url,
            channel: LOG_CHANNEL,
            logger: listen.logger,
            onNotify: listener,
            // Anything appended before the LISTEN took (or while it was lost) is read now.
            onListening: listener,
          })
      : undefined;
  }

  async read(
    topics: readonly string[],
    after: string | null,
    options: { limit: number; upTo?: string | null },
  ): Promise<LogRead> {
    const from = parse(after);
    const upTo = options.upTo === undefined || options.upTo === null ? null : parse(options.upTo);
    // The log is scanned in its own order, `limit` rows at a time whatever their topic, and the
    // topics picked from those: the scan always walks the (tx, position) index. Filtering on the
    // topics first lets the planner prefer the destination index and sort the whole backlog
    // instead (it did, 10× slower, on a freshly loaded store). The reader's position moves past
    // every row scanned, so other topics' messages are stepped over, not read again.
    const { rows } = await this.#pool.query<{ tx: string; position: string; envelope: unknown }>(
      `SELECT b.tx::text AS tx, b.position::text AS position,
              CASE WHEN b.destination = ANY($1::text[]) THEN b.envelope END AS envelope
         FROM bus_messages b
        WHERE b.kind = 'topic' AND (b.tx, b.position) > ($2::xid8, $3::bigint) AND ${VISIBLE}
          AND ($5::xid8 IS NULL OR (b.tx, b.position) <= ($5::xid8, $6::bigint))
        ORDER BY b.tx, b.position LIMIT $4`,
      [topics, from.tx, from.position, options.limit, upTo?.tx ?? null, upTo?.position ?? null],
    );
    const events = rows
      .filter((row) => row.envelope !== null)
      .map((row) => ({ position: format(row), envelope: row.envelope }));
    const last = rows.at(-1);
    return { events, position: last ? format(last) : after, more: rows.length === options.limit };
  }

  /** The newest visible event of any topic: a reader that scanned up to it has read every topic's. */
  async head(_topics: readonly string[]): Promise<string | null> {
    const { rows } = await this.#pool.query<{ tx: string; position: string }>(
      `SELECT b.tx::text AS tx, b.position::text AS position FROM bus_messages b
        WHERE b.kind = 'topic' AND ${VISIBLE}
        ORDER BY b.tx DESC, b.position DESC LIMIT 1`,
    );
    return rows[0] ? format(rows[0]) : null;
  }

  async countAfter(topics: readonly string[], after: string | null, cap: number): Promise<number> {
    const from = parse(after);
    // Over the next `cap` messages in log order (the index's), for the reason given in read().
    const { rows } = await this.#pool.query<{ n: number }>(
      `SELECT count(*) FILTER (WHERE destination = ANY($1::text[]))::int AS n FROM (
         SELECT b.destination FROM bus_messages b
          WHERE b.kind = 'topic' AND (b.tx, b.position) > ($2::xid8, $3::bigint)
          ORDER BY b.tx, b.position LIMIT $4) pending`,
      [topics, from.tx, from.position, cap],
    );
    return rows[0]?.n ?? 0;
  }

  reached(position: string | null, target: string | null): boolean {
    return target === null || compare(parse(position), parse(target)) >= 0;
  }

  async close(): Promise<void> {
    if (this.#ownsPool) await this.#pool.end();
  }
}
