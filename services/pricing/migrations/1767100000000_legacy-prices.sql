-- Up Migration
-- The legacy monolith's list prices, taken over by change data capture (strangler fig): which SKU
-- each of its products priced (its price is in `prices` under that SKU) and the commit position (LSN)
-- of the last change applied, so a replayed or late change never overwrites a newer one.
CREATE TABLE legacy_prices (
  product_id text PRIMARY KEY,
  sku text NOT NULL,
  lsn pg_lsn NOT NULL
);
