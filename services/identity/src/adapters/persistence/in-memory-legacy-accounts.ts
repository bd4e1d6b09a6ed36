import type { Transaction } from '@mercato/chassis';
import type { LegacyAccounts, LegacyConflictRecord } from '../../application/legacy-accounts.port.ts';
import type { EmailHolder, HeldLegacyAccount, LegacyAccountRow, Lsn } from '../../domain/legacy-account.ts';

interface StoredUser {
  email: string;
  name: string;
  passwordHash: string;
  blockedAt: Date | null;
}

/** The unit-test fake of `LegacyAccounts`; PostgresLegacyAccounts is tested in the component test. */
export class InMemoryLegacyAccounts implements LegacyAccounts {
  readonly users = new Map<string, StoredUser>();
  readonly legacy = new Map<string, { lsn: Lsn; deletedAt: Date | null }>();
  readonly conflicts: LegacyConflictRecord[] = [];

  /** A user registered with identity itself. */
  register(userId: string, email: string, passwordHash: string): void {
    this.users.set(userId, { email, name: userId, passwordHash, blockedAt: null });
  }

  async held(_transaction: Transaction, userId: string): Promise<HeldLegacyAccount | undefined> {
    const account = this.legacy.get(userId);
    return (
      account && {
        lsn: account.lsn,
        deleted: account.deletedAt !== null,
        passwordHash: this.users.get(userId)?.passwordHash,
      }
    );
  }

  async emailHolder(
    _transaction: Transaction,
    email: string,
    userId: string,
  ): Promise<EmailHolder | undefined> {
    for (const [id, user] of this.users)
      if (user.email === email && id !== userId) return { userId: id, lsn: this.legacy.get(id)?.lsn };
    return undefined;
  }

  async save(
    _transaction: Transaction,
    userId: string,
    lsn: Lsn,
    account: { row: LegacyAccountRow; create: boolean; blocked: boolean },
    now: Date,
  ): Promise<void> {
    const existing = this.users.get(userId);
    if (account.create === (existing !== undefined))
      throw new Error(`create is ${account.create} for ${userId}`);
    if (this.#holderOf(account.row.email, userId)) throw new Error(`email taken: ${account.row.email}`);
    this.users.set(userId, {
      ...account.row,
      blockedAt: existing ? existing.blockedAt : account.blocked ? now : null,
    });
    this.legacy.set(userId, { lsn, deletedAt: this.legacy.get(userId)?.deletedAt ?? null });
  }

  async releaseEmail(_transaction: Transaction, userId: string): Promise<void> {
    const user = this.users.get(userId);
    if (user) user.email = `${userId}@email-moved.invalid`;
  }

  async markDeleted(_transaction: Transaction, userId: string, lsn: Lsn, now: Date): Promise<void> {
    const user = this.users.get(userId);
    if (user) user.blockedAt ??= now;
    this.legacy.set(userId, { lsn, deletedAt: this.legacy.get(userId)?.deletedAt ?? now });
  }

  async recordConflict(_transaction: Transaction, record: LegacyConflictRecord): Promise<void> {
    const known = this.conflicts.some(
      (c) => c.userId === record.userId && c.lsn === record.lsn && c.conflict === record.conflict,
    );
    if (!known) this.conflicts.push(record);
  }

  #holderOf(email: string, userId: string): string | undefined {
    for (const [id, user] of this.users) if (user.email === email && id !== userId) return id;
    return undefined;
  }
}
