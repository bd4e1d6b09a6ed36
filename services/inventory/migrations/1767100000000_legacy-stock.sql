-- Up Migration
-- The legacy monolith's stock, followed by change data capture while the monolith still sells it
-- (strangler fig): one row per product of the monolith, its SKU (from its product's changes) and the
-- quantity on its shelf (from its stock's), each with the commit position (LSN) of the last change
-- applied, so a replayed or late change never overwrites a newer one (the two arrive on separate
-- topics, in either order). Reads show it as the warehouse `legacy`; reservations never take from it:
-- the monolith's orders do, until orders move.
CREATE TABLE legacy_stock (
  product_id text PRIMARY KEY,
  sku text,
  sku_lsn pg_lsn,
  quantity integer,
  quantity_lsn pg_lsn
);
CREATE INDEX legacy_stock_by_sku ON legacy_stock (sku);
