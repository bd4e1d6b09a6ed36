import type { ConsumerDefinition, Logger } from '@mercato/chassis';
import { compareLogPositions, legacyProductChanged, legacyProductId } from '@mercato/contracts';
import { productCreatedMessage } from '../../application/catalog-messages.ts';
import { takenOverProduct } from '../../domain/legacy-product.ts';
import type { LegacyProductTakeover } from '../persistence/legacy-product-takeover.ts';

/**
 * The monolith's products taken over while it still sells them (strangler fig): each captured row
 * becomes, or updates, the product `prd_legacy_<id>` (category `legacy`) in the consumer's
 * transaction, announced with `product.created` the first time, unless a change committed later
 * was applied already. A row the catalog cannot hold (a SKU outside its pattern, an empty name, a SKU
 * one of the services' products has) is logged and left out, for the checker to report: storing it
 * half-right would hide it. The monolith never deletes a product; a captured delete keeps it.
 */
export const legacyProductChangedConsumer = (
  takeover: LegacyProductTakeover,
  logger: Logger,
): ConsumerDefinition => ({
  group: 'catalog-legacy',
  kind: 'topic',
  destinations: [legacyProductChanged.type],
  handler: async (message, transaction) => {
    const change = legacyProductChanged.schema.parse(message.data);
    if (!change.row) {
      logger.warn({ legacy_id: change.key.id }, 'the monolith deleted a product; the catalog keeps it');
      return;
    }
    const id = legacyProductId(change.row.id);
    const held = await takeover.heldForUpdate(transaction, id);
    // A change from before the last one applied (replayed, or delivered late) changes nothing.
    if (held.lsn !== undefined && compareLogPositions(change.source.lsn, held.lsn) <= 0) return;
    const taken = takenOverProduct(held.product, {
      id,
      sku: change.row.sku,
      name: change.row.name,
      updatedAt: new Date(change.row.updated_at),
    });
    if (!taken.ok) {
      logger.error(
        { legacy_id: change.row.id, rejection: taken.error },
        'a product of the monolith the catalog cannot hold; left out',
      );
      return;
    }
    const holder = await takeover.holderOfSku(transaction, taken.value.product.sku, id);
    if (holder !== undefined) {
      logger.error(
        { legacy_id: change.row.id, sku: taken.value.product.sku, held_by: holder },
        'a product of the monolith has a SKU another product holds; left out',
      );
      return;
    }
    await takeover.save(
      transaction,
      taken.value.product,
      change.source.lsn,
      taken.value.events.map((event) => productCreatedMessage(event, message.correlation_id)),
    );
  },
});
