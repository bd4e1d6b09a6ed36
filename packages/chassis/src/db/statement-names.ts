import { createHash } from 'node:crypto';

/**
 * Names for the statements a service runs with parameters (and for its reads without any,
 * `preparableWithoutParameters`), so that `pg` prepares each one once per
 * connection (a named statement: Parse once, then only Bind and Execute) and PostgreSQL parses,
 * analyses and plans it once per session instead of on every call. Measured on this machine's
 * PostgreSQL (3,000 calls each, one connection): server CPU per call for the outbox append 237 →
 * 123 µs, an event append 297 → 117 µs, a primary-key read 57 → 27 µs (bench/README.md, "Named
 * statements"). Npgsql and pgjdbc prepare automatically for the same reason; `pg` leaves it to the
 * caller, who must give each distinct text a name of its own.
 *
 * A text is named from its `PREPARE_AFTER`th call on, as pgjdbc (`prepareThreshold`, 5) and Npgsql
 * (`Auto Prepare Min Usages`, 5) do: preparing costs more than running a statement once (its parse
 * tree and plan are copied into the session's cache, ~38 KB), so a statement run once or twice (a
 * migration check, seeding at start) stays unnamed; with every text named from its first call, the
 * e2e suites ran 10–15 % longer (platforms start at once on two cores).
 *
 * Left unnamed:
 * - a statement whose result columns follow a table's definition (`SELECT *`, `t.*`, `RETURNING *`):
 *   a column added by another release's migration would make PostgreSQL refuse the prepared one
 *   ("cached plan must not change result type") until the session ends;
 * - any text beyond the first `MAX_NAMED` of the process: texts built at run time must not fill
 *   every session with prepared statements;
 * - a text PostgreSQL refused to execute as prepared once (`isInvalidatedStatement`): it runs
 *   unnamed from then on in this process.
 */
export const MAX_NAMED = 500;

/** The call of a text from which on it is prepared. */
export const PREPARE_AFTER = 5;

/**
 * A text without parameters that can run as a named statement: one `SELECT` or `WITH` (no `;`, so
 * never several statements, which only the simple protocol takes). Transaction control, `SET`,
 * `LISTEN`, DDL and the rest keep the simple protocol: they are not planned, and a session must see
 * them as they are written.
 */
export const preparableWithoutParameters = (text: string): boolean =>
  /^\s*(SELECT|WITH)\b/i.test(text) && !text.includes(';');

/** `*` as a result column: alone, after a comma or a qualifier, not `count(*)`. */
const STAR_COLUMNS = /(^|[\s,.])\*\s*(,|FROM\b|$)|RETURNING\s+\*/i;

export class StatementNames {
  readonly #names = new Map<string, string>();
  readonly #unnamed = new Set<string>();
  /** Calls so far of texts not yet named (at most `max` texts are counted). */
  readonly #calls = new Map<string, number>();
  readonly #max: number;
  readonly #after: number;

  constructor(max = MAX_NAMED, after = PREPARE_AFTER) {
    this.#max = max;
    this.#after = after;
  }

  /** The name `text` is prepared under, or undefined when it runs unnamed (this time). */
  nameOf(text: string): string | undefined {
    const known = this.#names.get(text);
    if (known !== undefined || this.#unnamed.has(text)) return known;
    if (this.#names.size >= this.#max || STAR_COLUMNS.test(text)) {
      if (this.#unnamed.size < this.#max) this.#unnamed.add(text);
      return undefined;
    }
    const calls = (this.#calls.get(text) ?? 0) + 1;
    if (calls < this.#after) {
      if (this.#calls.has(text) || this.#calls.size < this.#max) this.#calls.set(text, calls);
      return undefined;
    }
    this.#calls.delete(text);
    // 96 bits of SHA-1: two texts of one process under one name would need a collision.
    const name = `mercato_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
    this.#names.set(text, name);
    return name;
  }

  /** PostgreSQL refused `text` as prepared: it runs unnamed from now on (its old name is never reused). */
  forget(text: string): void {
    if (!this.#names.delete(text)) return;
    this.#unnamed.add(text);
  }
}

/**
 * An error PostgreSQL raises for a prepared statement that a fresh parse would run: its result type
 * changed under it (pgjdbc's and postgres.js's test: SQLSTATE 0A000 from `RevalidateCachedQuery`),
 * or the session no longer has it (26000).
 */
export const isInvalidatedStatement = (error: unknown): boolean => {
  const { code, routine } = (error ?? {}) as { code?: unknown; routine?: unknown };
  return code === '26000' || (code === '0A000' && routine === 'RevalidateCachedQuery');
};
