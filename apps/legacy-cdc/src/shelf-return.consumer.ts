import { type ConsumerDefinition, inTransaction, type Pool } from '@mercato/chassis';
import { legacyShelfReturned } from '@mercato/contracts';

/**
 * Stock inventory gives the monolith's shelf back (the strangler's phase 3 for orders undone): each
 * line added to the monolith's `stock` (never below 0) once, under the transfer's id, in one
 * transaction of the monolith's; with `hand_back`, its `orders` row is given back in that same
 * transaction, so it takes new orders again exactly when the shelf it sells from is whole. The
 * capture then brings both into the log: inventory, seeing the taking back, follows its shelf again.
 */
export const shelfReturnConsumer = (monolith: Pool): ConsumerDefinition => ({
  group: 'legacy-shelf-return',
  kind: 'topic',
  destinations: [legacyShelfReturned.type],
  maxAttempts: 100,
  backoff: { baseMs: 100, maxMs: 5_000 },
  handler: async (message) => {
    const returned = legacyShelfReturned.schema.parse(message.data);
    await inTransaction(monolith, async (transaction) => {
      const first = await transaction.query(
        'INSERT INTO stock_transfers (id) VALUES ($1) ON CONFLICT (id) DO NOTHING',
        [returned.transfer_id],
      );
      if (first.rowCount === 0) return;
      // Every transaction of the monolith's takes stock rows in product order (an order placed,
      // a cancel's restock): the rows are locked in that order first, whatever plan joins the lines
      // to the table (a scan of a small table meets them in its physical order, which is not).
      if (returned.lines.length > 0)
        await transaction.query(
          `WITH locked AS MATERIALIZED (
             SELECT s.product_id, l.quantity FROM stock AS s
             JOIN unnest($1::bigint[], $2::integer[]) AS l (product_id, quantity) ON l.product_id = s.product_id
             ORDER BY s.product_id FOR UPDATE OF s)
           UPDATE stock AS s SET quantity = greatest(s.quantity + locked.quantity, 0), updated_at = now()
           FROM locked WHERE s.product_id = locked.product_id`,
          [returned.lines.map((line) => line.product_id), returned.lines.map((line) => line.quantity)],
        );
      if (returned.hand_back)
        await transaction.query(
          // A retired monolith takes nothing back (the services refuse to hand back once it retires).
          `UPDATE capabilities SET owner = 'monolith', changed_at = now()
           WHERE name = 'orders' AND owner = 'services' AND NOT EXISTS (SELECT 1 FROM retirement)`,
        );
    });
  },
});
