-- Up Migration
-- For profiles taken over from the monolith: the commit position (LSN) of the last change applied,
-- so a replayed or late change never overwrites a newer one. The monolith's updated_at cannot
-- order them: it is its transaction's start, and two transactions can commit the other way round.
ALTER TABLE customers ADD COLUMN legacy_lsn pg_lsn;
