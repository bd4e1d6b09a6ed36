-- Up Migration
-- Where the change stream stands, written in the same transaction as the outbox rows of the changes
-- it covers: a transaction at or below `lsn` is already in the outbox (the slot's own confirmed
-- position can lag behind it after a crash, and then the log replays what is skipped here).
CREATE TABLE cdc_position (
  slot text PRIMARY KEY,
  -- The slot's consistent point: the snapshot saw every transaction that committed before it.
  snapshot_lsn pg_lsn NOT NULL,
  snapshot_rows bigint NOT NULL,
  lsn pg_lsn NOT NULL,
  committed_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now()
);
