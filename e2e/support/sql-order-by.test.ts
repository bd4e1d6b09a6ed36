import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * In PostgreSQL a bare name in ORDER BY means the output column of that name before the table's
 * column: `SELECT id::text … ORDER BY id` sorts text, where 10 comes before 9. Positions and ids are
 * read as text all over the code (bigint beyond JavaScript's numbers), and this bit three times: the
 * outbox relay (fixed before it shipped), the monolith's back-office list paged by the last id (a page
 * after 10 skipped 9), and the CDC crash test, whose writer passed 10,000 bus positions on a slow
 * machine and found the log out of order. Every SQL statement in the repository is checked for it.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));

/** The names an ORDER BY of `sql` would read as a column its select list turned into another type. */
function recastNamesOrderedBy(sql: string): string[] {
  const select = /\bSELECT\b([\s\S]*?)\bFROM\b/i.exec(sql)?.[1];
  const orderBy = /\bORDER\s+BY\b([\s\S]*?)(?:\bLIMIT\b|\bOFFSET\b|\bFOR\s+UPDATE\b|\)|;|$)/i.exec(sql)?.[1];
  if (!select || !orderBy) return [];
  const recast = new Set<string>();
  for (const item of splitTopLevel(select)) {
    // `col::type` named by itself, or `col::type AS col`.
    const cast = /^\s*(?:\w+\.)?(\w+)\s*::\s*[\w ]+?\s*(?:\bAS\s+(\w+))?\s*$/i.exec(item);
    if (cast?.[1] && (!cast[2] || cast[2] === cast[1])) recast.add(cast[1]);
  }
  return [...recast].filter((name) => new RegExp(`(?<![\\w.])${name}\\b`).test(orderBy));
}

function splitTopLevel(list: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of list) {
    if (char === '(') depth += 1;
    if (char === ')') depth -= 1;
    if (char === ',' && depth === 0) {
      items.push(current);
      current = '';
    } else current += char;
  }
  return [...items, current];
}

/**
 * Every string literal and template in the repository's TypeScript, and every statement of its SQL
 * files, that holds a SELECT with an ORDER BY (the first SELECT of each is checked).
 */
function statements(): Array<{ where: string; sql: string }> {
  const found: Array<{ where: string; sql: string }> = [];
  for (const folder of ['packages', 'services', 'apps', 'e2e', 'bench']) {
    const files = readdirSync(path.join(root, folder), { recursive: true, encoding: 'utf8' }).filter(
      (file) =>
        /\.(ts|sql)$/.test(file) &&
        !/(^|\/)(node_modules|dist|results)\//.test(file) &&
        // This file's own examples.
        !file.endsWith('sql-order-by.test.ts'),
    );
    for (const file of files) {
      const text = readFileSync(path.join(root, folder, file), 'utf8');
      const literals = file.endsWith('.sql') ? text.split(';') : (text.match(/`[^`]*`|'[^'\n]*'/g) ?? []);
      for (const sql of literals)
        if (/\bSELECT\b/i.test(sql) && /\bORDER\s+BY\b/i.test(sql))
          found.push({ where: path.join(folder, file), sql });
    }
  }
  return found;
}

describe('SQL ordered by a name the select list recast', () => {
  it('is found where ORDER BY would sort the recast output column', () => {
    expect(recastNamesOrderedBy('SELECT id::text, status FROM orders ORDER BY id')).toEqual(['id']);
    expect(
      recastNamesOrderedBy(
        'SELECT position::text AS position FROM bus_messages ORDER BY position DESC LIMIT 1',
      ),
    ).toEqual(['position']);
    expect(
      recastNamesOrderedBy('SELECT o.id::text AS id FROM orders o WHERE id > $1 ORDER BY id FOR UPDATE'),
    ).toEqual(['id']);
  });

  it('is not found where the table column is named, or the output has another name', () => {
    expect(recastNamesOrderedBy('SELECT id::text FROM orders ORDER BY orders.id')).toEqual([]);
    expect(recastNamesOrderedBy('SELECT o.position::text AS position FROM o ORDER BY o.position')).toEqual(
      [],
    );
    expect(recastNamesOrderedBy('SELECT id::text AS order_id FROM orders ORDER BY id')).toEqual([]);
    expect(
      recastNamesOrderedBy('SELECT count(*)::int AS n FROM orders GROUP BY status ORDER BY status'),
    ).toEqual([]);
    expect(recastNamesOrderedBy('SELECT id, status FROM orders ORDER BY id')).toEqual([]);
  });

  it('has no statement in the repository that does it', () => {
    const offending = statements().flatMap(({ where, sql }) =>
      recastNamesOrderedBy(sql).map(
        (name) => `${where}: ORDER BY ${name} in ${sql.replace(/\s+/g, ' ').slice(0, 120)}`,
      ),
    );
    expect(offending).toEqual([]);
    // Reads every source file: under a second alone, more beside the e2e suites on a busy machine.
  }, 30_000);
});
