-- Up Migration
-- Login throttling holds attempts back for a delay counted from a key's last failure, and forgets
-- a key a while after it; keys are now a client on an account (email|IP), an email or an IP.
ALTER TABLE login_failures ADD COLUMN last_failure_at timestamptz;
UPDATE login_failures SET last_failure_at = window_started_at;
ALTER TABLE login_failures ALTER COLUMN last_failure_at SET NOT NULL;
