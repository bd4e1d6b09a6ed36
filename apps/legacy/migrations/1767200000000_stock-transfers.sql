-- Up Migration
-- Stock the services give the monolith's shelf back (the strangler's phase 3 for orders undone), each
-- added once: the transfer's id is written in the transaction that adds it, so one delivered again
-- adds nothing. Not captured: the shelf's own changes are.
CREATE TABLE stock_transfers (
  id text PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now()
);
