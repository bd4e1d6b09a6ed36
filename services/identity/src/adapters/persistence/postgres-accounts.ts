import { createHash } from 'node:crypto';
import { inTransaction, type Outbox, type OutboxEntry, type Pool, type PoolClient } from '@mercato/chassis';
import type {
  Accounts,
  BlockedUser,
  NewRefreshToken,
  Rotation,
  UserRecord,
} from '../../application/accounts.port.ts';
import type { FailureRecord } from '../../domain/login-throttle.ts';
import { type RefreshRecord, refreshVerdict } from '../../domain/refresh-token.ts';

/** Where a block is announced, to every identity process that has watchers (see BlockedUserFeed). */
export const USER_BLOCKED_CHANNEL = 'identity_user_blocked';

export const hashToken = (token: string): string => createHash('sha256').update(token).digest('base64url');

interface UserRow {
  id: string;
  email: string;
  name: string;
  password_hash: string;
  roles: string[];
  blocked_at: Date | null;
}

async function findUser(
  db: Pool | PoolClient,
  by: 'id' | 'email',
  value: string,
): Promise<UserRecord | undefined> {
  const { rows } = await db.query<UserRow>(
    `SELECT id, email, name, password_hash, roles, blocked_at FROM users WHERE ${by} = $1`,
    [value],
  );
  const row = rows[0];
  return (
    row && {
      id: row.id,
      email: row.email,
      name: row.name,
      passwordHash: row.password_hash,
      roles: row.roles,
      blockedAt: row.blocked_at,
    }
  );
}

/**
 * Blocks the user in the caller's transaction: revokes its refresh tokens and announces the block to
 * watchers at commit. The time of the block (the first one, when blocked again), or undefined for
 * an unknown user.
 */
export async function blockUser(client: PoolClient, userId: string, now: Date): Promise<Date | undefined> {
  const { rows } = await client.query<{ blocked_at: Date }>(
    'UPDATE users SET blocked_at = COALESCE(blocked_at, $2) WHERE id = $1 RETURNING blocked_at',
    [userId, now],
  );
  const blockedAt = rows[0]?.blocked_at;
  if (!blockedAt) return undefined;
  await client.query('UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL', [
    userId,
    now,
  ]);
  // Delivered at commit, to every identity process listening.
  await client.query('SELECT pg_notify($1, $2)', [USER_BLOCKED_CHANNEL, userId]);
  return blockedAt;
}

/** Users, refresh tokens and failed-login windows on PostgreSQL. */
export class PostgresAccounts implements Accounts {
  readonly #pool: Pool;
  readonly #outbox: Outbox;

  constructor(pool: Pool, outbox: Outbox) {
    this.#pool = pool;
    this.#outbox = outbox;
  }

  register(user: UserRecord, messages: readonly OutboxEntry[], now: Date): Promise<boolean> {
    return inTransaction(this.#pool, async (client) => {
      const { rowCount } = await client.query(
        `INSERT INTO users (id, email, name, password_hash, roles, created_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (email) DO NOTHING`,
        [user.id, user.email, user.name, user.passwordHash, user.roles, now],
      );
      if (rowCount !== 1) return false;
      await this.#outbox.append(client, messages);
      return true;
    });
  }

  userByEmail(email: string): Promise<UserRecord | undefined> {
    return findUser(this.#pool, 'email', email);
  }

  async replacePasswordHash(userId: string, current: string, replacement: string): Promise<boolean> {
    const { rowCount } = await this.#pool.query(
      'UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2',
      [userId, current, replacement],
    );
    return rowCount === 1;
  }

  async storeRefreshToken(token: NewRefreshToken, now: Date, client: PoolClient | Pool = this.#pool) {
    await client.query(
      `INSERT INTO refresh_tokens (token_hash, user_id, family_id, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)`,
      [hashToken(token.token), token.userId, token.familyId, token.expiresAt, now],
    );
  }

  rotateRefreshToken<T>(
    token: string,
    now: Date,
    issue: (user: UserRecord, familyId: string) => Promise<{ issued: T; successor: NewRefreshToken }>,
  ): Promise<Rotation<T>> {
    return inTransaction(this.#pool, async (client): Promise<Rotation<T>> => {
      const record = await this.#lockRefreshToken(client, token);
      const verdict = refreshVerdict(record, now);
      if (verdict === 'reused' && record) await this.#revokeFamily(client, record.familyId, now);
      if (verdict !== 'valid' || !record) return { outcome: verdict === 'reused' ? 'reused' : 'invalid' };
      const user = await findUser(client, 'id', record.userId);
      if (!user || user.blockedAt) return { outcome: 'invalid' };
      await this.#markUsed(client, token, now);
      const { issued, successor } = await issue(user, record.familyId);
      await this.storeRefreshToken(successor, now, client);
      return { outcome: 'rotated', issued };
    });
  }

  /** Locks and reads a refresh token, so two concurrent uses of it cannot both succeed. */
  async #lockRefreshToken(client: PoolClient, token: string): Promise<RefreshRecord | undefined> {
    const { rows } = await client.query<{
      user_id: string;
      family_id: string;
      expires_at: Date;
      used_at: Date | null;
      revoked_at: Date | null;
    }>(
      'SELECT user_id, family_id, expires_at, used_at, revoked_at FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE',
      [hashToken(token)],
    );
    const row = rows[0];
    return (
      row && {
        userId: row.user_id,
        familyId: row.family_id,
        expiresAt: row.expires_at,
        usedAt: row.used_at,
        revokedAt: row.revoked_at,
      }
    );
  }

  async #markUsed(client: PoolClient, token: string, now: Date): Promise<void> {
    await client.query('UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1', [
      hashToken(token),
      now,
    ]);
  }

  async #revokeFamily(client: PoolClient, familyId: string, now: Date): Promise<void> {
    await client.query(
      'UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL',
      [familyId, now],
    );
  }

  block(userId: string, now: Date): Promise<Date | undefined> {
    return inTransaction(this.#pool, (client) => blockUser(client, userId, now));
  }

  async unblock(userId: string): Promise<boolean> {
    const { rowCount } = await this.#pool.query('UPDATE users SET blocked_at = NULL WHERE id = $1', [userId]);
    return rowCount === 1;
  }

  async blockedSince(since: Date): Promise<BlockedUser[]> {
    const { rows } = await this.#pool.query<{ id: string; blocked_at: Date }>(
      'SELECT id, blocked_at FROM users WHERE blocked_at > $1 ORDER BY blocked_at',
      [since],
    );
    return rows.map((row) => ({ userId: row.id, blockedAt: row.blocked_at }));
  }

  async blockedUser(userId: string): Promise<BlockedUser | undefined> {
    const { rows } = await this.#pool.query<{ blocked_at: Date | null }>(
      'SELECT blocked_at FROM users WHERE id = $1',
      [userId],
    );
    const blockedAt = rows[0]?.blocked_at;
    return blockedAt ? { userId, blockedAt } : undefined;
  }

  async failures(keys: readonly string[]): Promise<Map<string, FailureRecord>> {
    const { rows } = await this.#pool.query<{ key: string; failures: number; last_failure_at: Date }>(
      'SELECT key, failures, last_failure_at FROM login_failures WHERE key = ANY($1::text[])',
      [keys],
    );
    return new Map(
      rows.map((row) => [row.key, { failures: row.failures, lastFailureAt: row.last_failure_at }]),
    );
  }

  async recordFailure(
    keys: readonly string[],
    next: (key: string, record: FailureRecord | undefined) => FailureRecord,
  ): Promise<void> {
    // Read-modify-write under row locks (taken in key order, so concurrent failures never deadlock),
    // so that concurrent failures all count.
    const sorted = [...keys].sort();
    await inTransaction(this.#pool, async (client) => {
      await client.query(
        `INSERT INTO login_failures (key, window_started_at, failures, last_failure_at)
         SELECT key, now(), 0, now() FROM unnest($1::text[]) AS key ORDER BY key
         ON CONFLICT (key) DO NOTHING`,
        [sorted],
      );
      const { rows } = await client.query<{ key: string; failures: number; last_failure_at: Date }>(
        'SELECT key, failures, last_failure_at FROM login_failures WHERE key = ANY($1::text[]) ORDER BY key FOR UPDATE',
        [sorted],
      );
      for (const row of rows) {
        const current =
          row.failures > 0 ? { failures: row.failures, lastFailureAt: row.last_failure_at } : undefined;
        const updated = next(row.key, current);
        await client.query('UPDATE login_failures SET failures = $2, last_failure_at = $3 WHERE key = $1', [
          row.key,
          updated.failures,
          updated.lastFailureAt,
        ]);
      }
    });
  }

  async clearFailures(key: string): Promise<void> {
    await this.#pool.query('DELETE FROM login_failures WHERE key = $1', [key]);
  }
}
