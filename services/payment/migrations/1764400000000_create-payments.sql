-- Up Migration
-- One payment per order. Created before the provider is called; a claim on the order's payment
-- (mercato_calls) makes a refund wait for a charge in flight instead of missing it.
CREATE TABLE payments (
  order_id text PRIMARY KEY,
  payment_id text NOT NULL UNIQUE,
  customer_id text NOT NULL,
  -- authorizing: being taken; voided: refunded or cancelled before anything was kept, and never
  -- to be taken any more.
  status text NOT NULL CHECK (status IN ('authorizing', 'captured', 'declined', 'voided', 'refunded', 'failed')),
  amount_minor bigint NOT NULL CHECK (amount_minor >= 0),
  currency text NOT NULL,
  provider_payment_id text,
  captured_minor bigint NOT NULL DEFAULT 0 CHECK (captured_minor >= 0),
  refunded_minor bigint NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0),
  reason text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE refunds (
  refund_id text PRIMARY KEY,
  order_id text NOT NULL REFERENCES payments (order_id),
  provider_refund_id text NOT NULL UNIQUE,
  provider_payment_id text NOT NULL,
  amount_minor bigint NOT NULL CHECK (amount_minor > 0),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refunds_by_order ON refunds (order_id);
