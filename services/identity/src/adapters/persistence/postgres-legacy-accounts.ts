import type { Transaction } from '@mercato/chassis';
import type { LegacyAccounts, LegacyConflictRecord } from '../../application/legacy-accounts.port.ts';
import type { EmailHolder, HeldLegacyAccount, LegacyAccountRow, Lsn } from '../../domain/legacy-account.ts';
import { blockUser } from './postgres-accounts.ts';

/** The monolith's customers as identity holds them, on PostgreSQL (`legacy_accounts`, `users`). */
export class PostgresLegacyAccounts implements LegacyAccounts {
  async held(transaction: Transaction, userId: string): Promise<HeldLegacyAccount | undefined> {
    const { rows } = await transaction.query<{ source_lsn: string; deleted_at: Date | null }>(
      'SELECT source_lsn::text, deleted_at FROM legacy_accounts WHERE user_id = $1 FOR UPDATE',
      [userId],
    );
    const account = rows[0];
    if (!account) return undefined;
    // The user locked too: a login re-hashing its password waits, or has committed and is seen.
    const user = await transaction.query<{ password_hash: string }>(
      'SELECT password_hash FROM users WHERE id = $1 FOR UPDATE',
      [userId],
    );
    return {
      lsn: account.source_lsn,
      deleted: account.deleted_at !== null,
      passwordHash: user.rows[0]?.password_hash,
    };
  }

  async emailHolder(
    transaction: Transaction,
    email: string,
    userId: string,
  ): Promise<EmailHolder | undefined> {
    const { rows } = await transaction.query<{ id: string; source_lsn: string | null }>(
      `SELECT u.id, l.source_lsn::text FROM users AS u LEFT JOIN legacy_accounts AS l ON l.user_id = u.id
       WHERE u.email = $1 AND u.id <> $2 FOR UPDATE OF u`,
      [email, userId],
    );
    const holder = rows[0];
    return holder && { userId: holder.id, lsn: holder.source_lsn ?? undefined };
  }

  async save(
    transaction: Transaction,
    userId: string,
    lsn: Lsn,
    account: { row: LegacyAccountRow; create: boolean; blocked: boolean },
    now: Date,
  ): Promise<void> {
    const { email, name, passwordHash } = account.row;
    if (account.create)
      await transaction.query(
        `INSERT INTO users (id, email, name, password_hash, roles, created_at, blocked_at)
         VALUES ($1, $2, $3, $4, '{customer}', $5, $6)`,
        [userId, email, name, passwordHash, now, account.blocked ? now : null],
      );
    else
      await transaction.query('UPDATE users SET email = $2, name = $3, password_hash = $4 WHERE id = $1', [
        userId,
        email,
        name,
        passwordHash,
      ]);
    await this.#advance(transaction, userId, lsn, now, false);
  }

  async releaseEmail(transaction: Transaction, userId: string): Promise<void> {
    // `.invalid` is reserved (RFC 2606): no one can sign in with it, and the id keeps it unique.
    await transaction.query('UPDATE users SET email = $2 WHERE id = $1', [
      userId,
      `${userId}@email-moved.invalid`,
    ]);
  }

  async markDeleted(transaction: Transaction, userId: string, lsn: Lsn, now: Date): Promise<void> {
    await blockUser(transaction, userId, now);
    await this.#advance(transaction, userId, lsn, now, true);
  }

  async recordConflict(transaction: Transaction, record: LegacyConflictRecord, now: Date): Promise<void> {
    await transaction.query(
      `INSERT INTO legacy_account_conflicts (user_id, source_lsn, conflict, email, other_user_id, recorded_at)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
      [record.userId, record.lsn, record.conflict, record.email, record.otherUserId ?? null, now],
    );
  }

  /** Marks `lsn` as the account's last applied change; a delete is remembered from then on. */
  async #advance(transaction: Transaction, userId: string, lsn: Lsn, now: Date, deleted: boolean) {
    await transaction.query(
      `INSERT INTO legacy_accounts (user_id, source_lsn, deleted_at, updated_at)
       VALUES ($1, $2, CASE WHEN $3::boolean THEN $4::timestamptz END, $4)
       ON CONFLICT (user_id) DO UPDATE SET source_lsn = excluded.source_lsn,
         deleted_at = COALESCE(legacy_accounts.deleted_at, excluded.deleted_at), updated_at = excluded.updated_at`,
      [userId, lsn, deleted, now],
    );
  }
}
