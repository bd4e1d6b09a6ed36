-- Up Migration
-- Calls to another process under way (a payment provider, a carrier, a mail server), one row per
-- subject (what the call is about, e.g. an order's payment) while a call is made with no
-- transaction open: who claimed it and until when the claim holds. A claimer that died leaves its
-- row to expire; the next attempt takes it over and repeats the call with the same idempotency key.
CREATE TABLE mercato_calls (
  subject text PRIMARY KEY,
  call_by text NOT NULL,
  call_until timestamptz NOT NULL,
  claimed_at timestamptz NOT NULL DEFAULT now()
);
