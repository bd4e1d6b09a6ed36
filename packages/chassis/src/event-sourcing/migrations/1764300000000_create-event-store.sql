-- Up Migration
-- Append-only streams. `transaction_id` lets a reader of the whole log see an event only once
-- every transaction that could still commit an earlier one has finished (see readAll).
CREATE TABLE es_events (
  global_position bigserial PRIMARY KEY,
  transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
  stream_id text NOT NULL,
  stream_version integer NOT NULL CHECK (stream_version > 0),
  event_id text NOT NULL UNIQUE,
  event_type text NOT NULL,
  event_version integer NOT NULL DEFAULT 1,
  data jsonb NOT NULL,
  metadata jsonb NOT NULL DEFAULT '{}',
  recorded_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (stream_id, stream_version)
);
CREATE INDEX es_events_log_order ON es_events (transaction_id, global_position);

-- The latest snapshot of a stream's state, taken every N events.
CREATE TABLE es_snapshots (
  stream_id text PRIMARY KEY,
  stream_version integer NOT NULL,
  state jsonb NOT NULL,
  taken_at timestamptz NOT NULL DEFAULT now()
);

-- How far each projection has read the log, as (transaction, position).
CREATE TABLE es_checkpoints (
  projection text PRIMARY KEY,
  transaction_id xid8 NOT NULL DEFAULT '0',
  global_position bigint NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now()
);
