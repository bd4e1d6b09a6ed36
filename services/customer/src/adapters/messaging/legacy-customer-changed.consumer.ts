import type { ConsumerDefinition, Logger } from '@mercato/chassis';
import { compareLogPositions, legacyCustomerChanged, legacyUserId } from '@mercato/contracts';
import { customerUpdatedMessage } from '../../application/customer-messages.ts';
import type { CustomerStore } from '../../application/customer-store.port.ts';
import { legacyChangeDecision, takenOverFromLegacy } from '../../domain/legacy-customer.ts';

/**
 * The monolith's customers taken over while it still owns them (strangler fig): each captured row
 * becomes, or updates, the profile `usr_legacy_<id>` in the consumer's transaction, announced as
 * `customer.updated` like any profile change, unless a change committed later was applied already.
 * Once the services own customers, the monolith's changes of a profile are echoes of theirs (taken
 * back for its own screens) and change nothing; a customer it registers since is still taken. While
 * they hand customers back, a change is delivered again later (`legacyChangeDecision`), often
 * enough to outlast a hand-back of minutes before it would be a dead letter.
 * The monolith never deletes a customer; a captured delete is logged and left alone (the checker
 * reports the profile as one the monolith lacks).
 */
export const legacyCustomerChangedConsumer = (
  customers: CustomerStore,
  logger: Logger,
): ConsumerDefinition => ({
  group: 'customer-legacy',
  kind: 'topic',
  maxAttempts: 100,
  backoff: { baseMs: 100, maxMs: 5_000 },
  destinations: [legacyCustomerChanged.type],
  handler: async (message, transaction) => {
    const change = legacyCustomerChanged.schema.parse(message.data);
    if (!change.row) {
      logger.warn({ legacy_id: change.key.id }, 'the monolith deleted a customer; its profile is kept');
      return;
    }
    const id = legacyUserId(change.row.id);
    const held = await customers.takenOverForUpdate(transaction, id);
    const decision = legacyChangeDecision(
      await customers.legacyOwnership(transaction),
      change.source.lsn,
      held.customer,
    );
    if (decision === 'ignore') return;
    // Customers are being handed back: whether this is an echo tells once the monolith took them.
    if (decision === 'wait') throw new Error('customers are being handed back to the monolith; later');
    // A change from before the last one applied (replayed, or delivered late) changes nothing.
    if (held.legacyLsn !== undefined && compareLogPositions(change.source.lsn, held.legacyLsn) < 0) return;
    const taken = takenOverFromLegacy(held.customer, {
      id,
      email: change.row.email,
      name: change.row.name,
      address: change.row.address,
      createdAt: new Date(change.row.created_at),
      updatedAt: new Date(change.row.updated_at),
    });
    await customers.saveTakenOver(
      transaction,
      taken.customer,
      change.source.lsn,
      taken.events.map((event) => customerUpdatedMessage(event, message.correlation_id)),
    );
  },
});
