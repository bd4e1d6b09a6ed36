import type { Transaction } from './database.ts';

/**
 * Writes one component makes inside another's statement, as data-modifying CTEs (`name AS (…)`,
 * names of its own): PostgreSQL runs each exactly once and to completion whether or not the
 * statement reads it, so two components' writes in one transaction cost one round trip, not two.
 * `sql` renders them, placing each value with `param`, which returns its `$n`. Whoever takes a
 * part from its owner must write it in the same transaction.
 */
export interface StatementPart {
  sql: (param: (value: unknown) => string) => string;
}

/** The parts' CTEs, their values appended to `params` (after the statement's own). */
export const renderParts = (parts: readonly StatementPart[], params: unknown[]): string =>
  parts
    .map((part) =>
      part.sql((value) => {
        params.push(value);
        return `$${params.length}`;
      }),
    )
    .join(',\n');

/** Writes the parts in a statement of their own (none: no statement). */
export async function writeParts(transaction: Transaction, parts: readonly StatementPart[]): Promise<void> {
  if (parts.length === 0) return;
  const params: unknown[] = [];
  await transaction.query(`WITH ${renderParts(parts, params)} SELECT 1`, params);
}
