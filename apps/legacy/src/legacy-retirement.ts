import { inTransaction, type Pool } from '@mercato/chassis';
import { capabilityNames } from './legacy-capabilities.ts';
import { legacyErrors } from './legacy-errors.ts';
import { type OrderStatus, unfinishedStatuses } from './order-status.ts';

export interface Retirement {
  retiredAt: string;
  /** The monolith's log position after the retirement: every change it made is at or before it. */
  lsn: string;
}

/**
 * The monolith's last step (the strangler's phase N): it retires once the services write every
 * capability and every order it took has finished, and from then takes nothing back.
 */
export class LegacyRetirement {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  /**
   * Retires the monolith, or says what it still does. The capabilities' rows are taken FOR UPDATE
   * first: that waits for every write in flight (each holds its row FOR SHARE) and keeps a move
   * back out until the retirement commits. Retiring again answers the first retirement.
   */
  async retire(): Promise<Retirement> {
    const retiredAt = await inTransaction(this.#pool, async (tx) => {
      const { rows: capabilities } = await tx.query<{ name: string; owner: string }>(
        'SELECT name, owner FROM capabilities ORDER BY name FOR UPDATE',
      );
      const earlier = await tx.query<{ retired_at: Date }>('SELECT retired_at FROM retirement');
      if (earlier.rows[0]) return earlier.rows[0].retired_at;
      const kept = capabilityNames.filter(
        (name) => capabilities.find((row) => row.name === name)?.owner !== 'services',
      );
      if (kept.length > 0) throw legacyErrors.stillWrites(kept);
      const { rows: open } = await tx.query<{ status: OrderStatus; orders: number; first: string }>(
        `SELECT status, count(*)::int AS orders, min(id)::text AS first FROM orders
         WHERE status = ANY($1::text[]) GROUP BY status ORDER BY status`,
        [unfinishedStatuses],
      );
      if (open.length > 0)
        throw legacyErrors.ordersUnfinished(
          Object.fromEntries(open.map((row) => [row.status, row.orders])),
          open.map((row) => Number(row.first)),
        );
      const { rows } = await tx.query<{ retired_at: Date }>(
        'INSERT INTO retirement DEFAULT VALUES RETURNING retired_at',
      );
      return (rows[0] as { retired_at: Date }).retired_at;
    });
    const { rows } = await this.#pool.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    return { retiredAt: retiredAt.toISOString(), lsn: (rows[0] as { lsn: string }).lsn };
  }
}
