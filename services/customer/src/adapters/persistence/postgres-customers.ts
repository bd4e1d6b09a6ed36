import { inTransaction, type Outbox, type Pool, type PoolClient } from '@mercato/chassis';
import { customerErrors } from '../../application/customer-errors.ts';
import { customerUpdatedMessage } from '../../application/customer-messages.ts';
import type { Customer, CustomerUpdated, Preferences, Segment } from '../../domain/customer.ts';
import { renamed, withPreferences } from '../../domain/customer.ts';

interface CustomerRow {
  id: string;
  email: string;
  name: string;
  segment: Segment;
  marketing_emails: boolean;
  language: string;
  currency: string;
  created_at: Date;
  updated_at: Date;
}

const fromRow = (row: CustomerRow): Customer => ({
  id: row.id,
  email: row.email,
  name: row.name,
  segment: row.segment,
  preferences: { marketingEmails: row.marketing_emails, language: row.language, currency: row.currency },
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export interface PostgresCustomersOptions {
  pool: Pool;
  outbox: Outbox;
  now: () => Date;
  correlationId: () => string;
}

/** Customer profiles on PostgreSQL; each change and its customer.updated commit together. */
export class PostgresCustomers {
  readonly #options: PostgresCustomersOptions;

  constructor(options: PostgresCustomersOptions) {
    this.#options = options;
  }

  async get(id: string): Promise<Customer> {
    const { rows } = await this.#options.pool.query<CustomerRow>('SELECT * FROM customers WHERE id = $1', [
      id,
    ]);
    const row = rows[0];
    if (!row) throw customerErrors.notFound(id);
    return fromRow(row);
  }

  /** Creates the profile unless it exists (the event may be delivered again). */
  async create(client: PoolClient, customer: Customer): Promise<void> {
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

  rename(id: string, name: string): Promise<Customer> {
    return this.#change(id, (customer, now) => renamed(customer, name, now));
  }

  setPreferences(id: string, preferences: Preferences): Promise<Customer> {
    return this.#change(id, (customer, now) => withPreferences(customer, preferences, now));
  }

  async #change(
    id: string,
    change: (customer: Customer, now: Date) => { customer: Customer; events: CustomerUpdated[] },
  ): Promise<Customer> {
    return inTransaction(this.#options.pool, async (client) => {
      const { rows } = await client.query<CustomerRow>('SELECT * FROM customers WHERE id = $1 FOR UPDATE', [
        id,
      ]);
      const row = rows[0];
      if (!row) throw customerErrors.notFound(id);
      const { customer, events } = change(fromRow(row), this.#options.now());
      if (events.length === 0) return customer;
      await client.query(
        `UPDATE customers SET name = $2, marketing_emails = $3, language = $4, currency = $5, updated_at = $6
         WHERE id = $1`,
        [
          id,
          customer.name,
          customer.preferences.marketingEmails,
          customer.preferences.language,
          customer.preferences.currency,
          customer.updatedAt,
        ],
      );
      const correlationId = this.#options.correlationId();
      await this.#options.outbox.append(
        client,
        events.map((event) => customerUpdatedMessage(event, correlationId)),
      );
      return customer;
    });
  }
}
