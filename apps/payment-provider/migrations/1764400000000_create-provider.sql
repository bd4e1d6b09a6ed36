-- Up Migration
-- The provider's own books: every charge and refund it made, so the net charge per order can be
-- audited from this side as well as from payment's database.
CREATE TABLE payment_intents (
  id text PRIMARY KEY,
  order_id text NOT NULL,
  amount bigint NOT NULL CHECK (amount >= 0),
  currency text NOT NULL,
  status text NOT NULL CHECK (status IN ('requires_capture', 'succeeded', 'canceled', 'declined')),
  amount_received bigint NOT NULL DEFAULT 0,
  amount_refunded bigint NOT NULL DEFAULT 0 CHECK (amount_refunded <= amount_received),
  decline_code text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_intents_by_order ON payment_intents (order_id);

CREATE TABLE refunds (
  id text PRIMARY KEY,
  payment_intent text NOT NULL REFERENCES payment_intents (id),
  amount bigint NOT NULL CHECK (amount > 0),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- The first response to each idempotency key, replayed for every retry with the same request.
CREATE TABLE idempotency_keys (
  key text PRIMARY KEY,
  request text NOT NULL,
  request_hash text NOT NULL,
  status_code integer NOT NULL,
  response jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
