-- Up Migration
-- Wakes the order change feed when events are appended, by any writer of this database: one
-- notification per appending transaction (identical payloads are folded by PostgreSQL), carrying
-- its id so the feed knows which commit to wait for. Delivered at commit, never for a rollback.
CREATE FUNCTION notify_order_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('order_changes', pg_current_xact_id()::text);
  RETURN NULL;
END
$$;

CREATE TRIGGER es_events_notify_order_changes
  AFTER INSERT ON es_events
  FOR EACH STATEMENT EXECUTE FUNCTION notify_order_changes();
