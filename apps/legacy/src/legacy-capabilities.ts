import { inTransaction, type Pool, type Transaction } from '@mercato/chassis';
import { legacyErrors } from './legacy-errors.ts';

export type CapabilityOwner = 'monolith' | 'services';
/** What the strangler moves from the monolith, one writer at a time. */
export const capabilityNames = ['customers', 'orders', 'registrations'] as const;
export type CapabilityName = (typeof capabilityNames)[number];

export interface Capability {
  name: CapabilityName;
  owner: CapabilityOwner;
  changedAt: string;
}

interface CapabilityRow {
  name: CapabilityName;
  owner: CapabilityOwner;
  changed_at: Date;
}

const capabilityJson = (row: CapabilityRow): Capability => ({
  name: row.name,
  owner: row.owner,
  changedAt: row.changed_at.toISOString(),
});

/** Which capabilities the monolith still writes; moving one waits for the writes in flight. */
export class LegacyCapabilities {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async list(): Promise<Capability[]> {
    const { rows } = await this.#pool.query<CapabilityRow>('SELECT * FROM capabilities ORDER BY name');
    return rows.map(capabilityJson);
  }

  /**
   * Gives the capability to `owner`. The UPDATE waits for every write of it in flight (each holds
   * the row FOR SHARE) and commits before any later write reads it: no write of the monolith's
   * commits after the move, and the move's commit is after all of them in the log.
   */
  async move(name: CapabilityName, owner: CapabilityOwner): Promise<Capability> {
    // Back from the services is theirs to do for what they write on (they stop, and it is given back
    // once their last changes are here): taken here, their writes in flight would be lost. Not for
    // registrations: the services keep the customers they signed up, nothing comes back. Moving to
    // where it is changes nothing.
    return inTransaction(this.#pool, async (tx) => {
      const { rows } = await tx.query<CapabilityRow>(
        `UPDATE capabilities SET owner = $2, changed_at = CASE WHEN owner = $2 THEN changed_at ELSE now() END
         WHERE name = $1 AND NOT (owner = 'services' AND $2 = 'monolith' AND name <> 'registrations') RETURNING *`,
        [name, owner],
      );
      // Read after the row is held: a retirement committed before this waited for it, one after
      // waits. Retired, it takes nothing back.
      const retired = await tx.query('SELECT 1 FROM retirement');
      if (owner === 'monolith' && retired.rows.length > 0) throw legacyErrors.retired();
      const row = rows[0];
      if (!row) throw legacyErrors.backThroughServices(name);
      return capabilityJson(row);
    });
  }
}

/**
 * Inside a write's transaction: holds the capability's row until it commits, and refuses the write
 * when the services own it now (the edge sends it to them).
 */
export async function assertMonolithWrites(transaction: Transaction, name: CapabilityName): Promise<void> {
  const { rows } = await transaction.query<{ owner: CapabilityOwner }>(
    'SELECT owner FROM capabilities WHERE name = $1 FOR SHARE',
    [name],
  );
  if (rows[0]?.owner === 'services') throw legacyErrors.capabilityMoved(name);
}
