-- Up Migration
-- The legacy monolith's products, taken over by change data capture (strangler fig): the commit
-- position (LSN) of the last change applied to each, so a replayed or late change never overwrites a
-- newer one. Their category (`legacy`) is created with the first of them: a shop that migrates
-- nothing does not list it.

CREATE TABLE legacy_products (
  product_id text PRIMARY KEY REFERENCES products (id),
  lsn pg_lsn NOT NULL
);
