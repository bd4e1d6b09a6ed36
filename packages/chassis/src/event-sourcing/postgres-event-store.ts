import { fileURLToPath } from 'node:url';
import type { Pool, Transaction } from '../db/database.ts';
import type { StatementPart } from '../db/statement-part.ts';
import { AppError } from '../errors/app-error.ts';
import { belowCommitHorizon } from './commit-horizon.ts';
import { readableVersions, type SchemaVersions, upcastTo } from './schema-versions.ts';

/** The event store's tables in a service's own database (`migrate(db, eventStoreMigrations, …)`). */
export const eventStoreMigrations = fileURLToPath(new URL('./migrations', import.meta.url));
export const EVENT_STORE_MIGRATIONS_TABLE = 'mercato_event_store_migrations';

export interface NewEvent {
  eventId: string;
  type: string;
  /** The schema version its data is in; by default its type's current one. */
  version?: number;
  data: Record<string, unknown>;
  metadata?: Record<string, unknown>;
}

export interface StoredEvent {
  eventId: string;
  streamId: string;
  /** 1 for a stream's first event. */
  streamVersion: number;
  type: string;
  /** Always its type's current version: older ones are upcast on the way out. */
  version: number;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  recordedAt: Date;
  position: LogPosition;
}

/**
 * Where an event stands in the whole log. Ordered by transaction, then by position: positions come
 * from a sequence taken before commit, so a later position can commit first; the transaction id
 * orders what a reader may see (see `readAll`).
 */
export interface LogPosition {
  transactionId: string;
  globalPosition: string;
}

export const LOG_START: LogPosition = { transactionId: '0', globalPosition: '0' };

/**
 * Per event type, the current schema version of its data and the upcasters that bring older ones
 * up to it. A type not listed is at version 1.
 */
export type EventSchemas = Readonly<Record<string, SchemaVersions<Record<string, unknown>>>>;

/** The schema of the state a stream's snapshots hold: its version and the upcasters of older ones. */
export type SnapshotSchema = SchemaVersions<unknown>;

const FIRST_VERSION: SchemaVersions<Record<string, unknown>> = { version: 1 };

interface EventRow {
  event_id: string;
  stream_id: string;
  stream_version: number;
  event_type: string;
  event_version: number;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  recorded_at: Date;
  transaction_id: string;
  global_position: string;
}

const COLUMNS = `event_id, stream_id, stream_version, event_type, event_version, data, metadata, recorded_at,
  transaction_id::text AS transaction_id, global_position::text AS global_position`;

/** An event this release cannot read: written by a newer one, or at a version no upcaster reaches. */
export const unreadableEvent = (event: { eventId: string; streamId: string }, reason: string) =>
  new AppError({
    code: 'EVENTS.UNREADABLE_VERSION',
    kind: 'internal',
    message: `Event ${event.eventId} of stream ${event.streamId} cannot be read: ${reason}`,
    retryable: false,
  });

/** The rows of an append, given where its statement places the stream, the version it follows and the events' JSON. */
const eventRows = (stream: string, after: string, events: string) =>
  `SELECT ${stream}, ${after} + e.ordinality, e.item->>'event_id', e.item->>'event_type',
              (e.item->>'event_version')::int, e.item->'data', e.item->'metadata'
         FROM jsonb_array_elements(${events}::jsonb) WITH ORDINALITY AS e(item, ordinality)`;
const UNIQUE_VIOLATION = '23505';
/** PostgreSQL's name for `UNIQUE (stream_id, stream_version)` of es_events. */
const STREAM_VERSION_UNIQUE = 'es_events_stream_id_stream_version_key';

export const concurrencyConflict = (streamId: string, expectedVersion: number) =>
  new AppError({
    code: 'EVENTS.CONCURRENCY_CONFLICT',
    kind: 'conflict',
    message: `Stream ${streamId} has moved past version ${expectedVersion}; load it again and retry`,
    retryable: true,
  });

/**
 * Append-only event streams on PostgreSQL: optimistic concurrency per stream, a global log that
 * projections follow without ever skipping a late commit, versioned event data upcast on every
 * read, versioned snapshots and state as of a time.
 */
export class PostgresEventStore {
  readonly #pool: Pool;
  readonly #schemas: EventSchemas;

  constructor(pool: Pool, schemas: EventSchemas = {}) {
    this.#pool = pool;
    this.#schemas = schemas;
  }

  #schemaOf(type: string): SchemaVersions<Record<string, unknown>> {
    return Object.hasOwn(this.#schemas, type) ? (this.#schemas[type] ?? FIRST_VERSION) : FIRST_VERSION;
  }

  /**
   * Appends in the caller's transaction (with its outbox entries), after `expectedVersion` (0 for
   * a new stream). Another writer having appended first is a retryable EVENTS.CONCURRENCY_CONFLICT,
   * and the caller's transaction stays usable. An event at a version newer than its type's current
   * one is refused: this release could not read it back.
   */
  async append(
    transaction: Transaction,
    streamId: string,
    expectedVersion: number,
    events: readonly NewEvent[],
  ): Promise<number> {
    if (events.length === 0) return expectedVersion;
    // One round trip, and no error to abort the caller's transaction on a conflict: nothing is
    // inserted when the stream has moved past `expectedVersion`, and a writer committing the same
    // versions meanwhile makes ON CONFLICT skip ours. Fewer rows than events means we lost the race.
    const { rowCount } = await transaction.query(
      `INSERT INTO es_events (stream_id, stream_version, event_id, event_type, event_version, data, metadata)
       ${eventRows('$1', '$2', '$3')}
        WHERE NOT EXISTS (SELECT 1 FROM es_events WHERE stream_id = $1 AND stream_version > $2)
        ORDER BY e.ordinality
       ON CONFLICT (stream_id, stream_version) DO NOTHING`,
      [streamId, expectedVersion, this.#encode(streamId, events)],
    );
    if (rowCount !== events.length) {
      // A concurrent writer of fewer events can leave some of ours in: take them out again, so the
      // caller's transaction holds nothing of this append.
      if (rowCount)
        await transaction.query('DELETE FROM es_events WHERE event_id = ANY($1::text[])', [
          events.map((event) => event.eventId),
        ]);
      throw concurrencyConflict(streamId, expectedVersion);
    }
    return expectedVersion + events.length;
  }

  /**
   * The same append as a part of another statement of the caller's transaction (its outbox append:
   * one round trip for both), and the stream's version after it. A writer that got there first
   * makes that statement fail on the stream's unique versions, which `asConflict` turns into the
   * retryable EVENTS.CONCURRENCY_CONFLICT (any other error it returns as it is); the caller's
   * transaction is then aborted, so it must end (as it does when the error propagates).
   */
  appendPart(
    streamId: string,
    expectedVersion: number,
    events: readonly NewEvent[],
  ): { parts: StatementPart[]; version: number; asConflict: (error: unknown) => unknown } {
    const asConflict = (error: unknown) =>
      (error as { code?: unknown; constraint?: unknown }).code === UNIQUE_VIOLATION &&
      (error as { constraint?: unknown }).constraint === STREAM_VERSION_UNIQUE
        ? concurrencyConflict(streamId, expectedVersion)
        : error;
    if (events.length === 0) return { parts: [], version: expectedVersion, asConflict };
    const encoded = this.#encode(streamId, events);
    const part: StatementPart = {
      sql: (param) => {
        const [stream, version, rows] = [param(streamId), param(expectedVersion), param(encoded)];
        return `es_appended AS (
          INSERT INTO es_events (stream_id, stream_version, event_id, event_type, event_version, data, metadata)
          ${eventRows(`${stream}::text`, `${version}::int`, rows)}
          ORDER BY e.ordinality
        )`;
      },
    };
    return { parts: [part], version: expectedVersion + events.length, asConflict };
  }

  /** The events as the JSON array the insert reads; a version newer than this release reads is refused. */
  #encode(streamId: string, events: readonly NewEvent[]): string {
    return JSON.stringify(
      events.map((event) => {
        const current = this.#schemaOf(event.type).version;
        const version = event.version ?? current;
        if (version > current)
          throw unreadableEvent(
            { eventId: event.eventId, streamId },
            `${event.type} version ${version} is newer than ${current}, the latest this release reads`,
          );
        return {
          event_id: event.eventId,
          event_type: event.type,
          event_version: version,
          data: event.data,
          metadata: event.metadata ?? {},
        };
      }),
    );
  }

  /**
   * A stream's events in order; with `asOf`, the state as of a time: the versions before the first
   * one recorded after it. Never a version without all those before it, even should recorded times
   * disagree with versions (a clock stepped back).
   */
  async readStream(
    streamId: string,
    options: { afterVersion?: number; asOf?: Date; transaction?: Transaction } = {},
  ): Promise<StoredEvent[]> {
    const { rows } = await (options.transaction ?? this.#pool).query<EventRow>(
      `SELECT ${COLUMNS} FROM es_events
        WHERE stream_id = $1 AND stream_version > $2
          AND ($3::timestamptz IS NULL OR stream_version < coalesce(
            -- as_of comes at millisecond precision (RFC 3339 from a client); recorded_at has microseconds.
            (SELECT min(later.stream_version) FROM es_events later
              WHERE later.stream_id = $1 AND later.recorded_at >= $3::timestamptz + interval '1 millisecond'),
            2147483647))
        ORDER BY stream_version`,
      [streamId, options.afterVersion ?? 0, options.asOf ?? null],
    );
    return rows.map((row) => this.#event(row));
  }

  /**
   * The log after `after`, oldest first. Only events of transactions older than every transaction
   * of this database still running are returned: one that took an earlier position but commits
   * later is never jumped over, because nothing newer than it is shown until it has finished.
   * Transactions of other databases on the server hold nothing back (see `COMMIT_HORIZON`).
   */
  async readAll(after: LogPosition, limit = 500): Promise<StoredEvent[]> {
    const { rows } = await this.#pool.query<EventRow>(
      `SELECT ${COLUMNS} FROM es_events
        WHERE (transaction_id, global_position) > ($1::xid8, $2::bigint)
          AND ${belowCommitHorizon('transaction_id')}
        -- Qualified: the bare names would sort by the text columns of the same names selected above.
        ORDER BY es_events.transaction_id, es_events.global_position
        LIMIT $3`,
      [after.transactionId, after.globalPosition, limit],
    );
    return rows.map((row) => this.#event(row));
  }

  /** Where the visible log ends now: reading after it returns only what is appended later. */
  async head(): Promise<LogPosition> {
    const { rows } = await this.#pool.query<{ transaction_id: string; global_position: string }>(
      `SELECT transaction_id::text AS transaction_id, global_position::text AS global_position FROM es_events
        WHERE ${belowCommitHorizon('transaction_id')}
        ORDER BY es_events.transaction_id DESC, es_events.global_position DESC LIMIT 1`,
    );
    const last = rows[0];
    return last ? { transactionId: last.transaction_id, globalPosition: last.global_position } : LOG_START;
  }

  /**
   * A stream's state: the latest snapshot (unless `asOf`) plus the events after it, folded. Inside
   * a `transaction`, it sees what that transaction appended. Snapshots are used only with their
   * `snapshot` schema, and only those at a version it can bring to its current one (upcast on the
   * way); any other (older with no upcaster, newer, or saved before snapshots had versions) is
   * passed over and the stream replayed from its first event.
   */
  async load<State>(
    streamId: string,
    evolve: (state: State, event: StoredEvent) => State,
    initial: State,
    options: { asOf?: Date; transaction?: Transaction; snapshot?: SnapshotSchema } = {},
  ): Promise<{ state: State; version: number }> {
    if (options.asOf) {
      const events = await this.readStream(streamId, options);
      return { state: events.reduce(evolve, initial), version: events.at(-1)?.streamVersion ?? 0 };
    }
    // The snapshot (if readable) and the events after it in one round trip: a row per event, the
    // snapshot beside.
    const { rows } = await (options.transaction ?? this.#pool).query<
      Partial<EventRow> & {
        snapshot_version: number | null;
        snapshot_schema: number | null;
        snapshot_state: unknown;
      }
    >(
      `SELECT s.stream_version AS snapshot_version, s.schema_version AS snapshot_schema, s.state AS snapshot_state,
              e.event_id, e.stream_id, e.stream_version, e.event_type, e.event_version, e.data, e.metadata,
              e.recorded_at, e.transaction_id::text AS transaction_id, e.global_position::text AS global_position
         FROM (SELECT 1) AS one
         LEFT JOIN es_snapshots s ON s.stream_id = $1 AND s.schema_version = ANY($2::int[])
         LEFT JOIN es_events e ON e.stream_id = $1 AND e.stream_version > COALESCE(s.stream_version, 0)
        ORDER BY e.stream_version`,
      [streamId, options.snapshot ? readableVersions(options.snapshot) : []],
    );
    const first = rows[0];
    let state = initial;
    let version = 0;
    if (options.snapshot && first?.snapshot_version != null && first.snapshot_schema != null) {
      const upcast = upcastTo(options.snapshot, first.snapshot_state, first.snapshot_schema, 'snapshot');
      // The query took only a snapshot at a readable version: a refusal here is a bug, said loudly.
      if (!upcast.ok) throw new Error(`snapshot of ${streamId}: ${upcast.reason}`);
      state = upcast.value as State;
      version = first.snapshot_version;
    }
    const events = rows.filter((row) => row.event_id).map((row) => this.#event(row as EventRow));
    return { state: events.reduce(evolve, state), version: events.at(-1)?.streamVersion ?? version };
  }

  /** Saves a stream's state at `version`, in the shape `schema` describes (its current version). */
  async saveSnapshot(
    transaction: Transaction,
    streamId: string,
    version: number,
    state: unknown,
    schema: SnapshotSchema,
  ): Promise<void> {
    await transaction.query(
      `INSERT INTO es_snapshots (stream_id, stream_version, state, schema_version) VALUES ($1, $2, $3, $4)
       ON CONFLICT (stream_id) DO UPDATE SET stream_version = $2, state = $3, schema_version = $4, taken_at = now()
        WHERE es_snapshots.stream_version < $2`,
      [streamId, version, JSON.stringify(state), schema.version],
    );
  }

  /** A row as the event it is now: its data upcast to its type's current version, or refused. */
  #event(row: EventRow): StoredEvent {
    const event = { eventId: row.event_id, streamId: row.stream_id };
    const schema = this.#schemaOf(row.event_type);
    const upcast = upcastTo(schema, row.data, row.event_version, row.event_type);
    if (!upcast.ok) throw unreadableEvent(event, upcast.reason);
    return {
      ...event,
      streamVersion: row.stream_version,
      type: row.event_type,
      version: schema.version,
      data: upcast.value,
      metadata: row.metadata,
      recordedAt: row.recorded_at,
      position: { transactionId: row.transaction_id, globalPosition: row.global_position },
    };
  }
}
