-- Up Migration
-- CreateOrder's idempotency: one row per (customer, key). `in_flight` while the first request runs
-- (a concurrent duplicate is told so), `done` with the order it created.
CREATE TABLE order_requests (
  customer_id text NOT NULL,
  idempotency_key text NOT NULL,
  request_hash text NOT NULL,
  status text NOT NULL CHECK (status IN ('in_flight', 'done')),
  order_id text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (customer_id, idempotency_key)
);

-- A projection of the order streams (see order-summaries.projection.ts): one row per order, for
-- operators' listings and audits. Rebuilt from the log by resetting its checkpoint.
CREATE TABLE order_summaries (
  order_id text PRIMARY KEY,
  customer_id text NOT NULL,
  status text NOT NULL,
  total_minor bigint NOT NULL,
  currency text NOT NULL,
  reason text,
  version integer NOT NULL,
  placed_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE INDEX order_summaries_by_status ON order_summaries (status, updated_at);
CREATE INDEX order_summaries_by_customer ON order_summaries (customer_id, placed_at);
