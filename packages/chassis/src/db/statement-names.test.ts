import { describe, expect, it } from 'vitest';
import {
  isInvalidatedStatement,
  PREPARE_AFTER,
  preparableWithoutParameters,
  StatementNames,
} from './statement-names.ts';

/** Calls `nameOf` as often as a text must run before it is named; the last call's answer. */
const called = (names: StatementNames, text: string): string | undefined => {
  for (let call = 1; call < PREPARE_AFTER; call += 1) names.nameOf(text);
  return names.nameOf(text);
};

describe('StatementNames', () => {
  it('names a text from its fifth call on, the same name every time, a different one for another text', () => {
    const names = new StatementNames();
    for (let call = 1; call < PREPARE_AFTER; call += 1)
      expect(names.nameOf('SELECT id FROM t WHERE id = $1')).toBeUndefined();
    const first = names.nameOf('SELECT id FROM t WHERE id = $1');
    expect(first).toMatch(/^mercato_[0-9a-f]{24}$/);
    expect(names.nameOf('SELECT id FROM t WHERE id = $1')).toBe(first);
    expect(called(names, 'SELECT id FROM t WHERE id = $2')).not.toBe(first);
  });

  it('leaves unnamed a statement whose result columns follow a table (a migration may add one)', () => {
    const names = new StatementNames();
    for (const text of [
      'SELECT * FROM payments WHERE order_id = $1 FOR UPDATE',
      'SELECT p.* FROM payments p WHERE p.id = $1',
      'SELECT *, legacy_lsn::text AS position FROM customers WHERE id = $1',
      'UPDATE shipments SET status = $2 WHERE id = $1 RETURNING *',
      'SELECT\n*\nFROM t WHERE id = $1',
    ])
      expect(called(names, text), text).toBeUndefined();
    for (const text of [
      'SELECT count(*) FROM t WHERE id = $1',
      'SELECT price * $1 AS total FROM t',
      'INSERT INTO t (id) SELECT m.id FROM unnest($1::text[]) AS m(id) RETURNING 1',
    ])
      expect(called(names, text), text).toBeDefined();
  });

  it('names no more than its limit of texts; the rest run unnamed', () => {
    const names = new StatementNames(2);
    expect(called(names, 'SELECT $1::int')).toBeDefined();
    expect(called(names, 'SELECT $1::text')).toBeDefined();
    expect(called(names, 'SELECT $1::bigint')).toBeUndefined();
    expect(names.nameOf('SELECT $1::int')).toBeDefined();
  });

  it('runs a forgotten text unnamed for good', () => {
    const names = new StatementNames();
    expect(called(names, 'SELECT v FROM t WHERE id = $1')).toBeDefined();
    names.forget('SELECT v FROM t WHERE id = $1');
    expect(called(names, 'SELECT v FROM t WHERE id = $1')).toBeUndefined();
  });

  it('takes a single SELECT or WITH without parameters as preparable, nothing else without them', () => {
    for (const text of [
      'SELECT slug, name FROM categories ORDER BY name',
      '  with a AS (SELECT 1) SELECT * FROM a',
      '\nSELECT pg_advisory_xact_lock(hashtext($$identity.signing_keys$$))',
    ])
      expect(preparableWithoutParameters(text), text).toBe(true);
    for (const text of [
      'SELECT 1; SELECT 2',
      'BEGIN',
      'SAVEPOINT applied_events',
      'SET statement_timeout = 0',
      'LISTEN mercato_bus',
      'DELETE FROM order_summaries',
      'CREATE TABLE t (id text)',
      '-- a comment\nSELECT 1',
      'SELECTED',
    ])
      expect(preparableWithoutParameters(text), text).toBe(false);
  });

  it('tells an invalidated prepared statement from other errors', () => {
    expect(isInvalidatedStatement({ code: '0A000', routine: 'RevalidateCachedQuery' })).toBe(true);
    expect(isInvalidatedStatement({ code: '26000' })).toBe(true);
    expect(isInvalidatedStatement({ code: '0A000', routine: 'transformLockingClause' })).toBe(false);
    expect(isInvalidatedStatement({ code: '23505' })).toBe(false);
    expect(isInvalidatedStatement(undefined)).toBe(false);
  });
});
