-- Up Migration
-- One row per saga: its whole state as JSON, changed in the transaction that consumes a reply and
-- writes the commands it causes to the outbox. `deadline` is the durable timer of the request it
-- waits on: a restarted orchestrator finds due timers here, nothing lives only in memory.
CREATE TABLE saga_instances (
  saga_id text PRIMARY KEY,
  saga_type text NOT NULL,
  status text NOT NULL CHECK (status IN ('running', 'compensating', 'completed', 'compensated', 'failed')),
  state jsonb NOT NULL,
  pending_request_id text,
  deadline timestamptz,
  correlation_id text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX saga_instances_due ON saga_instances (deadline) WHERE deadline IS NOT NULL;
CREATE INDEX saga_instances_open ON saga_instances (saga_type, status)
  WHERE status IN ('running', 'compensating', 'failed');

-- What happened to each saga, for people watching one: every input and what it led to, including
-- replies that were ignored (stale, duplicate, or late after a timeout).
CREATE TABLE saga_log (
  id bigserial PRIMARY KEY,
  saga_id text NOT NULL,
  at timestamptz NOT NULL DEFAULT now(),
  input text NOT NULL,
  request_id text,
  outcome text NOT NULL,
  status text NOT NULL,
  detail jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX saga_log_by_saga ON saga_log (saga_id, id);
