/**
 * The monolith's side of bench/cdc: single-row transactions on its customers, as its API commits
 * them (one statement, autocommit), alternately a sign-up (`INSERT`) and an address change
 * (`UPDATE` of a seeded customer). Each returns its transaction id, which the change's event
 * carries (`data.source.tx_id`), so every event is matched to the commit it came from.
 */
import pg from 'pg';
import { epochMs } from './bus-arrivals.ts';

/** The seeded customers an update picks from (apps/legacy's migration seeds 5,000). */
const SEEDED_CUSTOMERS = 5_000;

export interface Written {
  /** Transaction id (32 bits) → wall-clock ms when its COMMIT returned to the writer. */
  commits: Map<number, number>;
  /** When the first writer began and the last commit returned (wall-clock ms). */
  began: number;
  ended: number;
}

export class ChangeWriter {
  readonly #clients: pg.Client[];
  readonly #run = Date.now().toString(36);
  /** Changes written so far by this writer: numbers each sign-up's email, picks each update's row. */
  #next = 0;

  private constructor(clients: pg.Client[]) {
    this.#clients = clients;
  }

  /** `connections` sessions on the monolith's database, each committing one change at a time. */
  static async connect(legacyUrl: string, connections: number): Promise<ChangeWriter> {
    const clients = await Promise.all(
      Array.from({ length: connections }, async () => {
        const client = new pg.Client({ connectionString: legacyUrl, application_name: 'bench-writer' });
        await client.connect();
        return client;
      }),
    );
    return new ChangeWriter(clients);
  }

  /**
   * Commits `count` changes. At `ratePerSecond` > 0 the n-th is due n / rate seconds after the start
   * (open loop: a late one is sent at once, the schedule does not slip); at 0, as fast as the
   * sessions go (closed loop).
   */
  async write(count: number, ratePerSecond: number): Promise<Written> {
    const commits = new Map<number, number>();
    const first = this.#next;
    const last = first + count;
    const began = epochMs();
    const startedAt = performance.now();
    await Promise.all(
      this.#clients.map(async (client) => {
        for (let n = this.#next++; n < last; n = this.#next++) {
          if (ratePerSecond > 0) {
            const wait = startedAt + ((n - first) / ratePerSecond) * 1_000 - performance.now();
            if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
          }
          const { rows } = await client.query<{ xid: string }>(...this.#change(n));
          commits.set(Number(BigInt(rows[0]?.xid ?? '0') % 2n ** 32n), epochMs());
        }
      }),
    );
    this.#next = last;
    return { commits, began, ended: epochMs() };
  }

  #change(n: number): [string, unknown[]] {
    if (n % 2 === 0)
      return [
        `INSERT INTO customers (email, name, password_hash) VALUES ($1, $2, 'sha256$bench$0')
         RETURNING pg_current_xact_id()::text AS xid`,
        [`bench-${this.#run}-${n}@cdc.example`, `Bench customer ${n}`],
      ];
    return [
      `UPDATE customers SET address = $2, updated_at = now() WHERE id = $1
       RETURNING pg_current_xact_id()::text AS xid`,
      [1 + ((n * 7_919) % SEEDED_CUSTOMERS), `${n} Bench Street`],
    ];
  }

  async close(): Promise<void> {
    await Promise.all(this.#clients.map((client) => client.end()));
  }
}
