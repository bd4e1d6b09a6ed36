-- Up Migration
-- The monolith's customers taken over as users `usr_legacy_<id>` (strangler fig, see
-- docs/strangler-fig.md#credentials): per account, the position in the monolith's log of the last
-- change applied to it, so that an older change arriving late is dropped. A customer the monolith
-- deleted keeps its row here (a tombstone) even when identity never had its user.
CREATE TABLE legacy_accounts (
  user_id text PRIMARY KEY,
  source_lsn pg_lsn NOT NULL,
  deleted_at timestamptz,
  updated_at timestamptz NOT NULL
);

-- Changes identity did not apply as they came, for an operator: the email is held by an account
-- registered with identity (never merged: either password would open both), or by a legacy
-- account as of a later change; the row is unusable; or a legacy account gave its email up to another.
CREATE TABLE legacy_account_conflicts (
  user_id text NOT NULL,
  source_lsn pg_lsn NOT NULL,
  conflict text NOT NULL
    CHECK (conflict IN ('email_taken', 'email_held_by_later_change', 'email_moved', 'unusable_row')),
  email text NOT NULL,
  other_user_id text,
  recorded_at timestamptz NOT NULL,
  PRIMARY KEY (user_id, source_lsn, conflict)
);
