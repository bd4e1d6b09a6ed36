import type { ConsumerDefinition, Logger } from '@mercato/chassis';
import { compareLogPositions, legacyProductChanged, legacyProductId, legacySku } from '@mercato/contracts';
import { legacyPriceTakeover } from '../persistence/legacy-price-takeover.ts';

/**
 * The monolith's list prices taken over while it still sells its products (strangler fig): each
 * captured product row sets the price of its SKU (as the catalog spells it: trimmed, upper case) in
 * `currency`, the one the monolith priced in (it has no currency column), unless a change committed
 * later was applied already. A price the price list cannot hold (not above 0) is logged and left out,
 * for the checker to report.
 */
export const legacyProductChangedConsumer = (currency: string, logger: Logger): ConsumerDefinition => ({
  group: 'pricing-legacy',
  kind: 'topic',
  destinations: [legacyProductChanged.type],
  handler: async (message, transaction) => {
    const change = legacyProductChanged.schema.parse(message.data);
    if (!change.row) {
      logger.warn({ legacy_id: change.key.id }, 'the monolith deleted a product; its price is kept');
      return;
    }
    const productId = legacyProductId(change.row.id);
    const held = await legacyPriceTakeover.heldForUpdate(transaction, productId);
    // A change from before the last one applied (replayed, or delivered late) changes nothing.
    if (held !== undefined && compareLogPositions(change.source.lsn, held.lsn) <= 0) return;
    if (change.row.price_cents <= 0) {
      logger.error(
        { legacy_id: change.row.id, price_cents: change.row.price_cents },
        'a price of the monolith the price list cannot hold; left out',
      );
      return;
    }
    await legacyPriceTakeover.save(
      transaction,
      {
        productId,
        sku: legacySku(change.row.sku),
        amountMinor: change.row.price_cents,
        currency,
        updatedAt: new Date(change.row.updated_at),
      },
      change.source.lsn,
      held?.sku,
    );
  },
});
