-- Up Migration
-- The carrier's own books: every parcel it was handed, keyed by the sender's idempotency key, with
-- its fate drawn when it was handed over (delivered at deliver_at, or lost by then).
CREATE TABLE shipments (
  id text PRIMARY KEY,
  idempotency_key text NOT NULL UNIQUE,
  request_hash text NOT NULL,
  reference text NOT NULL,
  address text NOT NULL,
  parcels jsonb NOT NULL,
  accepted boolean NOT NULL,
  rejection_code text,
  lost boolean NOT NULL DEFAULT false,
  tracking_number text NOT NULL,
  deliver_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX shipments_by_reference ON shipments (reference);
