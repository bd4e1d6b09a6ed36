import type { Transaction } from '@mercato/chassis';
import {
  type LegacyConflict,
  type LegacyCustomerChange,
  planLegacyChange,
} from '../domain/legacy-account.ts';
import type { LegacyAccounts } from './legacy-accounts.port.ts';

export type LegacyTakeover =
  | { outcome: 'created' | 'updated'; movedEmailOf: string | undefined }
  | { outcome: 'stale' | 'deleted' }
  | { outcome: Exclude<LegacyConflict, 'email_moved'>; otherUserId: string | undefined };

/**
 * Applies one captured change of a monolith customer to its account `usr_legacy_<id>`, in the
 * consumer's transaction: the account and the holder of its new email are locked first, so a login
 * re-hashing the password at the same moment is either seen or waits.
 */
export const takeOverLegacyCustomer =
  (accounts: LegacyAccounts, now: () => Date) =>
  async (transaction: Transaction, change: LegacyCustomerChange): Promise<LegacyTakeover> => {
    const { userId, lsn } = change;
    const held = await accounts.held(transaction, userId);
    const holder =
      change.op === 'upsert' ? await accounts.emailHolder(transaction, change.row.email, userId) : undefined;
    const plan = planLegacyChange(held, change, holder);
    switch (plan.kind) {
      case 'stale':
        return { outcome: 'stale' };
      case 'delete':
        await accounts.markDeleted(transaction, userId, lsn, now());
        return { outcome: 'deleted' };
      case 'conflict': {
        const email =
          change.op === 'upsert' ? change.row.email : change.op === 'unusable' ? change.email : '';
        const { conflict, otherUserId } = plan;
        await accounts.recordConflict(transaction, { userId, lsn, conflict, email, otherUserId }, now());
        return { outcome: conflict, otherUserId };
      }
      case 'save': {
        const { moveEmailOf } = plan;
        if (moveEmailOf) {
          await accounts.releaseEmail(transaction, moveEmailOf);
          await accounts.recordConflict(
            transaction,
            { userId: moveEmailOf, lsn, conflict: 'email_moved', email: plan.row.email, otherUserId: userId },
            now(),
          );
        }
        await accounts.save(transaction, userId, lsn, plan, now());
        return { outcome: plan.create ? 'created' : 'updated', movedEmailOf: moveEmailOf };
      }
    }
  };
