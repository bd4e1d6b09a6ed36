-- Up Migration
-- A reservation's lock and its read in one round trip. Every reserve, commit and release took the
-- reservation's advisory lock (two writers of one id never interleave, even before its row exists)
-- and then read it with its allocations: two statements, because the read must see what the
-- writer it waited for committed, and a statement's snapshot is taken before it waits. A VOLATILE
-- function takes a fresh snapshot for each statement it runs, so the read after the lock inside it
-- sees that writer's commit. The lock is the caller's transaction's, held until it ends. Inventory
-- of the release before (its own lock, then its read) takes the same lock.
CREATE FUNCTION inventory_lock_reservation(locked_id text)
RETURNS TABLE (id text, status text, expires_at timestamptz, shortfall jsonb, allocations json)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext(locked_id));
  RETURN QUERY
    SELECT r.id, r.status, r.expires_at, r.shortfall,
           coalesce((SELECT json_agg(json_build_object('sku', a.sku, 'warehouseId', a.warehouse_id, 'quantity', a.quantity)
                                     ORDER BY a.sku, a.warehouse_id)
                       FROM reservation_allocations a WHERE a.reservation_id = r.id), '[]'::json)
      FROM reservations r WHERE r.id = locked_id;
END
$$;

