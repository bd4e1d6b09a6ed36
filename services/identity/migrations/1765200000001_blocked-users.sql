-- Up Migration
-- An operator can block a user: login is refused, refresh tokens are revoked, and edges that
-- watch for blocks refuse the access tokens issued before it and end the user's live streams.
ALTER TABLE users ADD COLUMN blocked_at timestamptz;
CREATE INDEX users_blocked_at_idx ON users (blocked_at) WHERE blocked_at IS NOT NULL;
