-- Up Migration
-- A publish in one round trip. It was four: BEGIN, the shared per-topic locks, the publish
-- statement, COMMIT (4.8 publishes an order, the message store's most frequent write). The locks
-- had to be a statement of their own so that the fan-out reads bus_subscriptions on a snapshot taken
-- after the wait (a group joining a topic holds the exclusive lock while it records itself and
-- copies the history: a publish either is in that copy or sees the group, never neither). A
-- VOLATILE function takes a fresh snapshot for each statement it runs, so the same order holds
-- inside one call, and one statement is its own transaction: the locks last until it commits.
-- Publishers of the release before (their own locks, then the statement) take the same locks.
CREATE FUNCTION bus_publish(
  kinds text[],
  destinations text[],
  keys text[],
  ids text[],
  envelopes jsonb[],
  group_channel_prefix text,
  group_channel_digits integer,
  log_channel text,
  topic_lock_prefix text
) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  notified text[];
  logged boolean;
BEGIN
  PERFORM pg_advisory_xact_lock_shared(hashtext(topic_lock_prefix || topic))
     FROM (SELECT DISTINCT d AS topic FROM unnest(kinds, destinations) AS t(k, d) WHERE k = 'topic' ORDER BY 1) topics;
  WITH input AS (
    SELECT t.kind, t.destination, t.partition_key, t.message_id, t.envelope, t.ord
      FROM unnest(kinds, destinations, keys, ids, envelopes)
      WITH ORDINALITY AS t(kind, destination, partition_key, message_id, envelope, ord)
  ), inserted AS (
    INSERT INTO bus_messages (kind, destination, partition_key, message_id, envelope)
    SELECT i.kind, i.destination, i.partition_key, i.message_id, i.envelope FROM input i ORDER BY i.ord
    ON CONFLICT (kind, destination, message_id) DO NOTHING
    RETURNING bus_messages.position, bus_messages.kind, bus_messages.destination, bus_messages.partition_key
  ), fanned AS (
    INSERT INTO bus_deliveries (group_name, position, partition_key, destination)
    SELECT f.group_name, f.position, f.partition_key, f.destination FROM (
      SELECT s.group_name, i.position, i.partition_key, i.destination
        FROM inserted i JOIN bus_subscriptions s ON i.kind = 'topic' AND s.topic = i.destination
      UNION ALL
      SELECT 'queue:' || i.destination, i.position, i.partition_key, i.destination
        FROM inserted i WHERE i.kind = 'queue'
    ) f ORDER BY f.position
    RETURNING bus_deliveries.group_name
  )
  SELECT (SELECT array_agg(DISTINCT g.group_name) FROM fanned g),
         EXISTS (SELECT 1 FROM inserted i WHERE i.kind = 'topic')
    INTO notified, logged;
  -- Each group that got deliveries on its own channel (payload: the group), and readers of the log.
  PERFORM pg_notify(group_channel_prefix || left(md5(g), group_channel_digits), g)
     FROM unnest(coalesce(notified, '{}')) AS g;
  IF logged THEN
    PERFORM pg_notify(log_channel, '');
  END IF;
END
$$;
