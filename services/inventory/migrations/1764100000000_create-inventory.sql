-- Up Migration
CREATE TABLE warehouses (
  id text PRIMARY KEY CHECK (id ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
  name text NOT NULL
);

-- available: on hand and free to reserve; reserved: held by active reservations.
-- The CHECKs are the last line against overselling: no interleaving of transactions can commit a
-- negative level, whatever the code above them does.
CREATE TABLE stock_levels (
  sku text NOT NULL,
  warehouse_id text NOT NULL REFERENCES warehouses (id),
  available integer NOT NULL CHECK (available >= 0),
  reserved integer NOT NULL DEFAULT 0 CHECK (reserved >= 0),
  low_threshold integer NOT NULL DEFAULT 5 CHECK (low_threshold >= 0),
  PRIMARY KEY (sku, warehouse_id)
);

CREATE TABLE reservations (
  id text PRIMARY KEY,
  status text NOT NULL CHECK (status IN ('active', 'committed', 'released', 'expired', 'failed')),
  expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  -- For a failed reservation: which lines could not be covered (returned again on a retry).
  shortfall jsonb
);

CREATE INDEX reservations_due_idx ON reservations (expires_at) WHERE status = 'active';

CREATE TABLE reservation_allocations (
  reservation_id text NOT NULL REFERENCES reservations (id),
  sku text NOT NULL,
  warehouse_id text NOT NULL,
  quantity integer NOT NULL CHECK (quantity > 0),
  PRIMARY KEY (reservation_id, sku, warehouse_id)
);
