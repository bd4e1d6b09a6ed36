-- Up Migration
-- One shipment per order. A row may exist before its order.confirmed arrived: a hold from a
-- cancellation that came first leaves a tombstone (status held, no lines), so a late confirmation
-- ships nothing.
CREATE TABLE shipments (
  id text PRIMARY KEY,
  order_id text NOT NULL UNIQUE,
  customer_id text NOT NULL DEFAULT '',
  status text NOT NULL CHECK (status IN
    ('pending', 'picked', 'packed', 'dispatched', 'delivered', 'failed', 'held', 'cancelled')),
  held_from text,
  lines jsonb NOT NULL DEFAULT '[]',
  shipping_address text NOT NULL DEFAULT '',
  reservation_id text NOT NULL DEFAULT '',
  carrier_shipment_id text,
  tracking_number text,
  reason text,
  -- When the worker looks at it next (hand-over, or tracking); NULL once nothing is left to do.
  next_at timestamptz,
  attempts integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  dispatched_at timestamptz,
  delivered_at timestamptz
);
CREATE INDEX shipments_due ON shipments (next_at) WHERE next_at IS NOT NULL;
