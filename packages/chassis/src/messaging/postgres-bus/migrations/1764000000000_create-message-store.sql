-- Up Migration
-- The message log: every published message once, in publication order.
CREATE TABLE bus_messages (
  position bigserial PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('topic', 'queue')),
  destination text NOT NULL,
  partition_key text NOT NULL,
  message_id text NOT NULL,
  envelope jsonb NOT NULL,
  published_at timestamptz NOT NULL DEFAULT now(),
  -- Broker-side dedup: publishing the same id twice stores it once.
  UNIQUE (kind, destination, message_id)
);

-- Which consumer groups take which topics. A queue's only group is the queue itself.
CREATE TABLE bus_subscriptions (
  group_name text NOT NULL,
  topic text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (group_name, topic)
);

-- What each group still has to handle. A row is deleted when acknowledged.
CREATE TABLE bus_deliveries (
  id bigserial PRIMARY KEY,
  group_name text NOT NULL,
  position bigint NOT NULL REFERENCES bus_messages (position),
  partition_key text NOT NULL,
  attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  visible_at timestamptz NOT NULL DEFAULT now(),
  locked_until timestamptz,
  UNIQUE (group_name, position)
);
CREATE INDEX bus_deliveries_key_order ON bus_deliveries (group_name, partition_key, id);
CREATE INDEX bus_deliveries_group_order ON bus_deliveries (group_name, id);
