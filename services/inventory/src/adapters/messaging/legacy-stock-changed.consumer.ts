import type { ConsumerDefinition } from '@mercato/chassis';
import { legacyProductChanged, legacyProductId, legacySku, legacyStockChanged } from '@mercato/contracts';
import { legacyStock } from '../persistence/legacy-stock.ts';

/**
 * The monolith's shelf followed while it still sells its products (strangler fig): a product's
 * changes say its SKU (as the catalog spells it: trimmed, upper case), its stock's changes the
 * quantity, in either order; the two meet in `legacy_stock` and stock reads show them as the
 * warehouse `legacy`. Nothing here reserves them: the monolith's orders take from that shelf.
 * A captured delete (the monolith deletes neither) keeps what was known.
 */
export const legacyStockChangedConsumer = (): ConsumerDefinition => ({
  group: 'inventory-legacy',
  kind: 'topic',
  destinations: [legacyProductChanged.type, legacyStockChanged.type],
  handler: async (message, transaction) => {
    if (message.event_type === legacyProductChanged.type) {
      const change = legacyProductChanged.schema.parse(message.data);
      if (!change.row) return;
      await legacyStock.recordSku(
        transaction,
        legacyProductId(change.row.id),
        legacySku(change.row.sku),
        change.source.lsn,
      );
      return;
    }
    const change = legacyStockChanged.schema.parse(message.data);
    if (!change.row) return;
    await legacyStock.recordQuantity(
      transaction,
      legacyProductId(change.row.product_id),
      change.row.quantity,
      change.source.lsn,
    );
  },
});
