-- Up Migration
-- Messages written in the same transaction as the state change that caused them; the relay
-- publishes them in order and deletes them.
CREATE TABLE mercato_outbox (
  position bigserial PRIMARY KEY,
  message_id text NOT NULL UNIQUE,
  kind text NOT NULL CHECK (kind IN ('topic', 'queue')),
  destination text NOT NULL,
  partition_key text NOT NULL,
  envelope jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Messages already handled, per consumer group, recorded in the handler's transaction.
CREATE TABLE mercato_inbox (
  group_name text NOT NULL,
  message_id text NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (group_name, message_id)
);

-- Messages a handler could not take after every attempt, or that could not be read at all.
CREATE TABLE mercato_dead_letters (
  id bigserial PRIMARY KEY,
  group_name text NOT NULL,
  message_id text NOT NULL,
  destination text NOT NULL,
  partition_key text NOT NULL,
  envelope jsonb NOT NULL,
  error text NOT NULL,
  attempts integer NOT NULL,
  dead_at timestamptz NOT NULL DEFAULT now(),
  replayed_at timestamptz,
  UNIQUE (group_name, message_id)
);
