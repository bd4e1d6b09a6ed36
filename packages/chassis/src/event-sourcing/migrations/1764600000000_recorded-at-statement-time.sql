-- Up Migration
-- An event's time is when its append ran, not when its transaction began: a transaction that began
-- before another appended version 1 may append version 2 only after it, and its version 2 was
-- stamped earlier than version 1 (as_of then returned version 2 alone). An append is one
-- statement, so all its events share one time, later than the versions before them.
ALTER TABLE es_events ALTER COLUMN recorded_at SET DEFAULT statement_timestamp();
