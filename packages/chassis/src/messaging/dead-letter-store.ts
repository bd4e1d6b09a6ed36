import type { Pool } from '../db/database.ts';

export interface DeadLetter {
  id: number;
  group: string;
  messageId: string;
  destination: string;
  key: string;
  envelope: unknown;
  error: string;
  attempts: number;
  deadAt: Date;
  replayedAt: Date | null;
}

interface DeadLetterRow {
  id: number;
  group_name: string;
  message_id: string;
  destination: string;
  partition_key: string;
  envelope: unknown;
  error: string;
  attempts: number;
  dead_at: Date;
  replayed_at: Date | null;
}

const toDeadLetter = (row: DeadLetterRow): DeadLetter => ({
  id: row.id,
  group: row.group_name,
  messageId: row.message_id,
  destination: row.destination,
  key: row.partition_key,
  envelope: row.envelope,
  error: row.error,
  attempts: row.attempts,
  deadAt: row.dead_at,
  replayedAt: row.replayed_at,
});

export type NewDeadLetter = Omit<DeadLetter, 'id' | 'deadAt' | 'replayedAt'>;

/** Dead letters live in the consuming service's own database, whichever bus carried them. */
export class DeadLetterStore {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async add(letter: NewDeadLetter): Promise<void> {
    // A message dead again after a failed replay keeps one row, with the latest error.
    await this.#pool.query(
      `INSERT INTO mercato_dead_letters (group_name, message_id, destination, partition_key, envelope, error, attempts)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (group_name, message_id) DO UPDATE
         SET error = EXCLUDED.error, attempts = mercato_dead_letters.attempts + EXCLUDED.attempts,
             dead_at = now(), replayed_at = NULL`,
      [
        letter.group,
        letter.messageId,
        letter.destination,
        letter.key,
        JSON.stringify(letter.envelope),
        letter.error,
        letter.attempts,
      ],
    );
  }

  async list(options: { group?: string; includeReplayed?: boolean } = {}): Promise<DeadLetter[]> {
    const { rows } = await this.#pool.query<DeadLetterRow>(
      `SELECT * FROM mercato_dead_letters
        WHERE ($1::text IS NULL OR group_name = $1) AND ($2 OR replayed_at IS NULL)
        ORDER BY id LIMIT 500`,
      [options.group ?? null, options.includeReplayed ?? false],
    );
    return rows.map(toDeadLetter);
  }

  async get(id: number): Promise<DeadLetter | undefined> {
    const { rows } = await this.#pool.query<DeadLetterRow>(
      'SELECT * FROM mercato_dead_letters WHERE id = $1',
      [id],
    );
    return rows[0] ? toDeadLetter(rows[0]) : undefined;
  }

  async markReplayed(id: number): Promise<void> {
    await this.#pool.query('UPDATE mercato_dead_letters SET replayed_at = now() WHERE id = $1', [id]);
  }

  async recordFailedReplay(id: number, error: string): Promise<void> {
    await this.#pool.query(
      'UPDATE mercato_dead_letters SET error = $2, attempts = attempts + 1, dead_at = now() WHERE id = $1',
      [id, error],
    );
  }
}
