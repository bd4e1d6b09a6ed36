import type { ConsumerDefinition, Logger, Transaction } from '@mercato/chassis';
import { legacyCustomerChanged, legacyUserId } from '@mercato/contracts';
import type { LegacyTakeover } from '../../application/take-over-legacy-customer.handler.ts';
import { type LegacyCustomerChange, legacyCustomerChange } from '../../domain/legacy-account.ts';

/**
 * identity takes over the monolith's credentials: each captured customer row becomes, or updates,
 * the user `usr_legacy_<id>` with its email, name and password hash as the monolith has it (the
 * first login re-hashes it), in the consumer's transaction. No `user.registered` is announced: the
 * customer service takes the profiles over from the same changes itself.
 */
export const legacyCustomerChangedConsumer = (
  takeOver: (transaction: Transaction, change: LegacyCustomerChange) => Promise<LegacyTakeover>,
  logger: Logger,
): ConsumerDefinition => ({
  group: 'identity-legacy',
  kind: 'topic',
  destinations: [legacyCustomerChanged.type],
  handler: async (message, transaction) => {
    const change = legacyCustomerChanged.schema.parse(message.data);
    const userId = legacyUserId(change.row?.id ?? change.key.id ?? '');
    const result = await takeOver(transaction, legacyCustomerChange(userId, change.source.lsn, change.row));
    const context = { user_id: userId, lsn: change.source.lsn, event_id: message.event_id, ...result };
    switch (result.outcome) {
      case 'created':
      case 'updated':
      case 'stale':
        logger.debug(context, 'legacy customer taken over');
        break;
      case 'deleted':
        logger.info(context, 'the monolith deleted a customer: its account is blocked');
        break;
      default:
        // Recorded in legacy_account_conflicts in the same transaction; the change is not retried.
        logger.warn(context, 'a legacy customer change was not applied');
    }
  },
});
