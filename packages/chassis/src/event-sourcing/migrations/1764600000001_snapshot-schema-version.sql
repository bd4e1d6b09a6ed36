-- Up Migration
-- The schema version of a snapshot's state, so that a release reads only snapshots it knows the
-- shape of: an older one is upcast or replayed from the events, a newer one replayed. NULL: saved
-- before snapshots had versions, shape unknown, never loaded (the stream is replayed instead).
ALTER TABLE es_snapshots ADD COLUMN schema_version integer;
