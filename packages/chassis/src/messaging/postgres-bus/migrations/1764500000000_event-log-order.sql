-- Up Migration
-- Read models tail the topic messages as a log. Positions come from a sequence, so a reader that
-- trusted them alone could pass a message whose transaction commits after a later position did,
-- and never see it. Each message also records its transaction: the log is read in (tx, position)
-- order and only up to the oldest transaction still running (Emmett's and Marten's gating).
ALTER TABLE bus_messages ADD COLUMN tx xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX bus_messages_log ON bus_messages (tx, position) WHERE kind = 'topic';
