import type { ConsumerDefinition, Logger } from '@mercato/chassis';
import { legacyCapabilityChanged } from '@mercato/contracts';
import { type LegacyOrdersOwner, legacyStock } from '../persistence/legacy-stock.ts';

/**
 * The monolith gave new orders up (strangler fig, phase 3 for orders): inventory takes its shelf over
 * as stock to reserve from, once every stock change the monolith committed before the move is
 * applied here. The move's change comes after all of them in the monolith's log, and the capture
 * publishes in log order, so that is once the stock consumer (`stockGroup`) has nothing
 * unacknowledged; until then the change is delivered again (every 100 ms to 2 s), and orders are
 * `moving`: a reservation that finds the shelf's stock short waits rather than fails.
 */
export const legacyOrdersMovedConsumer = (
  stockGroup: string,
  stockLag: (group: string) => Promise<number>,
  markMoving: () => Promise<void>,
  logger: Logger,
): ConsumerDefinition => ({
  group: 'inventory-legacy-owner',
  kind: 'topic',
  destinations: [legacyCapabilityChanged.type],
  maxAttempts: 300,
  backoff: { baseMs: 100, maxMs: 2_000 },
  handler: async (message, transaction) => {
    const change = legacyCapabilityChanged.schema.parse(message.data);
    if (change.row?.name !== 'orders') return;
    if (change.row.owner === 'monolith') {
      const current = await legacyStock.ordersOwner(transaction);
      // The monolith took orders back once it had the shelf inventory gave it (only inventory starts
      // that: the monolith's own API refuses). Otherwise a row from before, replayed or snapshotted again.
      if (
        current.owner === 'returning' &&
        (await legacyStock.recordTakenBack(transaction, change.source.lsn))
      )
        logger.info({ lsn: change.source.lsn }, 'the monolith took new orders back, with its shelf');
      return;
    }
    // Read without a lock while the stock may lag: marking orders moving is an UPDATE of the owner's
    // row on another connection (it must stay when this transaction rolls back to be delivered
    // again), and it would wait forever behind a lock this transaction held on that row: the move's
    // delivery hung, claimed and renewed, and inventory could not stop (a legacy e2e run, 5 Dec).
    if (takenOrGivenBack(await legacyStock.ordersOwnerUnlocked(transaction))) return;
    const lag = await stockLag(stockGroup);
    if (lag > 0) {
      await markMoving();
      throw new Error(`${lag} changes of the monolith's stock not applied yet; taking its shelf later`);
    }
    // Locked now (FOR SHARE, as the stock changes being applied lock it), and looked at again.
    if (takenOrGivenBack(await legacyStock.ordersOwner(transaction))) return;
    const taken = await legacyStock.takeShelf(transaction, change.source.lsn);
    if (taken)
      logger.info(
        { skus: taken.skus, units: taken.units, lsn: change.source.lsn },
        'the monolith gave new orders up: inventory took its shelf',
      );
  },
});

/** Moved already, or given back and not taken yet (it is taken again once the monolith has it). */
const takenOrGivenBack = ({ owner }: LegacyOrdersOwner) => owner === 'services' || owner === 'returning';
