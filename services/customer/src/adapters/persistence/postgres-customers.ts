import { inTransaction, type Outbox, type OutboxEntry, type Pool, type Transaction } from '@mercato/chassis';
import type {
  CustomerChange,
  CustomerStore,
  LegacyRetirementMark,
  TakenOverProfile,
} from '../../application/customer-store.port.ts';
import type { Customer, Segment } from '../../domain/customer.ts';
import type { LegacyOwner, LegacyOwnership } from '../../domain/legacy-customer.ts';

interface CustomerRow {
  id: string;
  email: string;
  name: string;
  segment: Segment;
  marketing_emails: boolean;
  language: string;
  currency: string;
  address: string;
  created_at: Date;
  updated_at: Date;
}

/** Named, not `*`: the statements stay prepared (a `*` read is never prepared; see the chassis pool). */
const COLUMNS =
  'id, email, name, segment, marketing_emails, language, currency, address, created_at, updated_at';

const fromRow = (row: CustomerRow): Customer => ({
  id: row.id,
  email: row.email,
  name: row.name,
  segment: row.segment,
  preferences: { marketingEmails: row.marketing_emails, language: row.language, currency: row.currency },
  address: row.address,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

/** Customer profiles on PostgreSQL; each change and its messages commit together. */
export class PostgresCustomers implements CustomerStore {
  readonly #pool: Pool;
  readonly #outbox: Outbox;

  constructor(pool: Pool, outbox: Outbox) {
    this.#pool = pool;
    this.#outbox = outbox;
  }

  async get(id: string): Promise<Customer | undefined> {
    const { rows } = await this.#pool.query<CustomerRow>(`SELECT ${COLUMNS} FROM customers WHERE id = $1`, [
      id,
    ]);
    const row = rows[0];
    return row && fromRow(row);
  }

  async createIfAbsent(client: Transaction, customer: Customer): Promise<void> {
    await client.query(
      `INSERT INTO customers (id, email, name, segment, marketing_emails, language, currency, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT (id) DO NOTHING`,
      [
        customer.id,
        customer.email,
        customer.name,
        customer.segment,
        customer.preferences.marketingEmails,
        customer.preferences.language,
        customer.preferences.currency,
        customer.createdAt,
      ],
    );
  }

  update(
    id: string,
    change: (customer: Customer) => CustomerChange,
    legacyGuard?: (owner: LegacyOwner) => void,
  ): Promise<Customer | undefined> {
    return inTransaction(this.#pool, async (client) => {
      if (legacyGuard) {
        // Held until this write commits: a hand-back to the monolith waits for it (FOR SHARE).
        const { rows } = await client.query<{ owner: LegacyOwner }>(
          "SELECT owner FROM legacy_capabilities WHERE name = 'customers' FOR SHARE",
        );
        legacyGuard(rows[0]?.owner ?? 'monolith');
      }
      const { rows } = await client.query<CustomerRow>(
        `SELECT ${COLUMNS} FROM customers WHERE id = $1 FOR UPDATE`,
        [id],
      );
      const row = rows[0];
      if (!row) return undefined;
      const { customer, messages } = change(fromRow(row));
      if (messages.length === 0) return customer;
      await client.query(
        `UPDATE customers SET name = $2, marketing_emails = $3, language = $4, currency = $5, updated_at = $6,
           address = $7
         WHERE id = $1`,
        [
          id,
          customer.name,
          customer.preferences.marketingEmails,
          customer.preferences.language,
          customer.preferences.currency,
          customer.updatedAt,
          customer.address,
        ],
      );
      await this.#outbox.append(client, messages);
      return customer;
    });
  }

  async takenOverForUpdate(transaction: Transaction, id: string): Promise<TakenOverProfile> {
    const { rows } = await transaction.query<CustomerRow & { legacy_position: string | null }>(
      `SELECT ${COLUMNS}, legacy_lsn::text AS legacy_position FROM customers WHERE id = $1 FOR UPDATE`,
      [id],
    );
    const row = rows[0];
    return row
      ? { customer: fromRow(row), legacyLsn: row.legacy_position ?? undefined }
      : { customer: undefined, legacyLsn: undefined };
  }

  async saveTakenOver(
    transaction: Transaction,
    customer: Customer,
    legacyLsn: string,
    messages: OutboxEntry[],
  ): Promise<void> {
    await transaction.query(
      `INSERT INTO customers (id, email, name, segment, marketing_emails, language, currency, created_at, updated_at,
         legacy_lsn, address)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT (id) DO UPDATE SET email = $2, name = $3, segment = $4, marketing_emails = $5, language = $6,
         currency = $7, created_at = $8, updated_at = $9, legacy_lsn = $10, address = $11`,
      [
        customer.id,
        customer.email,
        customer.name,
        customer.segment,
        customer.preferences.marketingEmails,
        customer.preferences.language,
        customer.preferences.currency,
        customer.createdAt,
        customer.updatedAt,
        legacyLsn,
        customer.address,
      ],
    );
    await this.#outbox.append(transaction, messages);
  }

  async legacyOwnership(transaction?: Transaction): Promise<LegacyOwnership> {
    const { rows } = await (transaction ?? this.#pool).query<{ owner: LegacyOwner; lsn: string | null }>(
      "SELECT owner, lsn::text AS lsn FROM legacy_capabilities WHERE name = 'customers'",
    );
    return { owner: rows[0]?.owner ?? 'monolith', movedAt: rows[0]?.lsn ?? undefined };
  }

  async recordLegacyMove(
    transaction: Transaction,
    owner: 'monolith' | 'services',
    lsn: string,
  ): Promise<void> {
    // `services` starts a move from the monolith; `monolith` ends a hand-back only (the snapshot's
    // row, or a replay, says what is already so). A move at or before the last one recorded is old.
    await transaction.query(
      `UPDATE legacy_capabilities
       SET owner = CASE WHEN $1 = 'monolith' THEN 'monolith' ELSE 'moving' END, lsn = $2
       WHERE name = 'customers' AND (lsn IS NULL OR lsn < $2::pg_lsn)
         AND owner = CASE WHEN $1 = 'monolith' THEN 'returning' ELSE 'monolith' END`,
      [owner, lsn],
    );
  }

  async completeLegacyMove(): Promise<LegacyOwner> {
    await this.#pool.query(
      "UPDATE legacy_capabilities SET owner = 'services' WHERE name = 'customers' AND owner = 'moving'",
    );
    return (await this.legacyOwnership()).owner;
  }

  markLegacyRetired(retired: boolean, forGood: boolean): Promise<LegacyRetirementMark> {
    return inTransaction(this.#pool, async (transaction) => {
      const { rows } = await transaction.query<{
        owner: LegacyOwner;
        retired_at: Date | null;
        retired_for_good: boolean;
      }>(
        `SELECT owner, retired_at, retired_for_good FROM legacy_capabilities WHERE name = 'customers' FOR UPDATE`,
      );
      const row = rows[0];
      const current = {
        owner: row?.owner ?? 'monolith',
        retiredAt: row?.retired_at ?? undefined,
        forGood: row?.retired_for_good ?? false,
      };
      // Not the services' (nothing to mark), or the mark of a monolith that did retire (kept).
      if (current.owner !== 'services' || (!retired && current.forGood))
        return { ...current, changed: false };
      const { rows: marked } = await transaction.query<{
        retired_at: Date | null;
        retired_for_good: boolean;
      }>(
        `UPDATE legacy_capabilities SET retired_at = CASE WHEN $1 THEN coalesce(retired_at, now()) END,
           retired_for_good = retired_for_good OR $2
         WHERE name = 'customers' RETURNING retired_at, retired_for_good`,
        [retired, retired && forGood],
      );
      return {
        owner: current.owner,
        retiredAt: marked[0]?.retired_at ?? undefined,
        forGood: marked[0]?.retired_for_good ?? false,
        changed: true,
      };
    });
  }

  handBackLegacy(handedBack: OutboxEntry): Promise<LegacyOwner> {
    return inTransaction(this.#pool, async (transaction) => {
      // Waits for the profile writes in flight (each holds the row FOR SHARE): their messages are in
      // the outbox before the hand-back's.
      const { rowCount } = await transaction.query(
        "UPDATE legacy_capabilities SET owner = 'returning' WHERE name = 'customers' AND owner = 'services' AND retired_at IS NULL",
      );
      if (rowCount === 1) await this.#outbox.append(transaction, [handedBack]);
      return (await this.legacyOwnership(transaction)).owner;
    });
  }
}
