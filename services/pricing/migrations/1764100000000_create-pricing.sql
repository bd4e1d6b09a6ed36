-- Up Migration
-- The price list: one list price per SKU, integer minor units.
CREATE TABLE prices (
  sku text PRIMARY KEY,
  amount_minor bigint NOT NULL CHECK (amount_minor > 0),
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- What pricing knows of the catalog (from product.created), for category-wide discounts.
CREATE TABLE products (
  sku text PRIMARY KEY,
  category text NOT NULL
);

CREATE TABLE discounts (
  id text PRIMARY KEY,
  description text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('percentage', 'fixed_amount', 'buy_x_get_y')),
  basis_points integer CHECK (basis_points BETWEEN 1 AND 10000),
  amount_minor bigint CHECK (amount_minor > 0),
  buy integer CHECK (buy > 0),
  free integer CHECK (free > 0),
  sku text,
  category text,
  segment text,
  active boolean NOT NULL DEFAULT true,
  CHECK (
    (kind = 'percentage' AND basis_points IS NOT NULL) OR
    (kind = 'fixed_amount' AND amount_minor IS NOT NULL) OR
    (kind = 'buy_x_get_y' AND buy IS NOT NULL AND free IS NOT NULL)
  )
);
