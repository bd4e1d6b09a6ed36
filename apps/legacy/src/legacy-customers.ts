import { inTransaction, type Pool } from '@mercato/chassis';
import { assertMonolithWrites } from './legacy-capabilities.ts';
import { legacyErrors } from './legacy-errors.ts';
import { DECOY_HASH, hashLegacyPassword, verifyLegacyPassword } from './legacy-password.ts';
import type { CustomerJson } from './legacy-schemas.ts';

interface CustomerRow {
  id: number;
  email: string;
  name: string;
  address: string;
  created_at: Date;
  updated_at: Date;
}

// Named columns only: password_hash never leaves this file.
const COLUMNS = 'id, email, name, address, created_at, updated_at';

const customerJson = (row: CustomerRow): CustomerJson => ({
  id: row.id,
  email: row.email,
  name: row.name,
  address: row.address,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
});

const isEmailTaken = (error: unknown): boolean =>
  typeof error === 'object' &&
  error !== null &&
  (error as { code?: unknown }).code === '23505' &&
  (error as { constraint?: unknown }).constraint === 'customers_email_key';

export interface CustomerChanges {
  email?: string | undefined;
  name?: string | undefined;
  address?: string | undefined;
}

/** The monolith's customers table: registration, profile, and login against the legacy hashes. */
export class LegacyCustomers {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async register(input: {
    email: string;
    name: string;
    password: string;
    address: string;
  }): Promise<CustomerJson> {
    try {
      return await inTransaction(this.#pool, async (transaction) => {
        // Held until the customer commits: moving registrations waits for it, and refuses later ones.
        await assertMonolithWrites(transaction, 'registrations');
        const { rows } = await transaction.query<CustomerRow>(
          `INSERT INTO customers (email, name, password_hash, address) VALUES ($1, $2, $3, $4)
           RETURNING ${COLUMNS}`,
          [input.email, input.name, hashLegacyPassword(input.password), input.address],
        );
        return customerJson(rows[0] as CustomerRow);
      });
    } catch (error) {
      if (isEmailTaken(error)) throw legacyErrors.emailTaken(input.email);
      throw error;
    }
  }

  async find(id: number): Promise<CustomerJson> {
    const { rows } = await this.#pool.query<CustomerRow>(`SELECT ${COLUMNS} FROM customers WHERE id = $1`, [
      id,
    ]);
    if (!rows[0]) throw legacyErrors.notFound('Customer', id);
    return customerJson(rows[0]);
  }

  /**
   * Changes what is given (an absent field stays as it is) and bumps updated_at; refused once
   * customers moved to the services (`LEGACY.CAPABILITY_MOVED`).
   */
  async update(id: number, changes: CustomerChanges): Promise<CustomerJson> {
    try {
      return await inTransaction(this.#pool, async (transaction) => {
        await assertMonolithWrites(transaction, 'customers');
        const { rows } = await transaction.query<CustomerRow>(
          `UPDATE customers
           SET email = coalesce($2, email), name = coalesce($3, name), address = coalesce($4, address),
               updated_at = now()
           WHERE id = $1 RETURNING ${COLUMNS}`,
          [id, changes.email ?? null, changes.name ?? null, changes.address ?? null],
        );
        if (!rows[0]) throw legacyErrors.notFound('Customer', id);
        return customerJson(rows[0]);
      });
    } catch (error) {
      if (isEmailTaken(error)) throw legacyErrors.emailTaken(changes.email ?? '');
      throw error;
    }
  }

  /** The customer's id when the password is theirs; an unknown email costs as much as a wrong password. */
  async authenticate(email: string, password: string): Promise<number> {
    const { rows } = await this.#pool.query<{ id: number; password_hash: string }>(
      'SELECT id, password_hash FROM customers WHERE email = $1',
      [email],
    );
    const customer = rows[0];
    const matches = verifyLegacyPassword(password, customer?.password_hash ?? DECOY_HASH);
    if (!customer || !matches) throw legacyErrors.badCredentials();
    return customer.id;
  }
}
