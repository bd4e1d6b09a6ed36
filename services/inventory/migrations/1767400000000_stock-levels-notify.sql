-- Up Migration
-- Every committed change to stock levels NOTIFYs `inventory_stock_levels` with the SKUs it touched
-- (a JSON array, 200 SKUs at most a notification: a payload stays under 8,000 bytes), from the
-- statement that changed them. Each writer called pg_notify itself before, a round trip of its own
-- after every change (two an order), and a writer that forgot would have left streams stale.
-- Delivered at commit, never for a rollback; identical payloads of one transaction are folded.
CREATE FUNCTION notify_stock_levels() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  skus text;
BEGIN
  FOR skus IN
    SELECT json_agg(sku ORDER BY sku)::text
      FROM (SELECT sku, (row_number() OVER (ORDER BY sku) - 1) / 200 AS chunk
              FROM (SELECT DISTINCT sku FROM changed) distinct_skus) numbered
     GROUP BY chunk ORDER BY chunk
  LOOP
    PERFORM pg_notify('inventory_stock_levels', skus);
  END LOOP;
  RETURN NULL;
END
$$;

-- A trigger with a transition table takes one event: one for inserts, one for updates (an upsert
-- fires whichever it did, with the rows it did it to).
CREATE TRIGGER stock_levels_notify_inserted
  AFTER INSERT ON stock_levels REFERENCING NEW TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION notify_stock_levels();
CREATE TRIGGER stock_levels_notify_updated
  AFTER UPDATE ON stock_levels REFERENCING NEW TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION notify_stock_levels();
