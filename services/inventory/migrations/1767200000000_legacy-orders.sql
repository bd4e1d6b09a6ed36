-- Up Migration
-- Who takes orders of the monolith's products (the strangler's phase 3 for orders): the monolith
-- until it gives new orders up; `moving` from when inventory sees that until every stock change the
-- monolith made before is applied here; then the services, from the commit position (LSN) of the
-- move. From then its shelf is inventory's to reserve from (the warehouse `legacy`, made from the copy
-- in `legacy_stock`), and what the monolith later puts back on its shelf (the orders it took,
-- cancelled) is added to it. `returning` once inventory gave the shelf back, until the monolith takes
-- orders again (then `monolith`, from that position).
CREATE TABLE legacy_capabilities (
  name text PRIMARY KEY,
  owner text NOT NULL CHECK (owner IN ('monolith', 'moving', 'services', 'returning')),
  lsn pg_lsn
);
INSERT INTO legacy_capabilities (name, owner) VALUES ('orders', 'monolith');
