import { describe, expect, it } from 'vitest';
import { compareRows, driftOf } from './drift.ts';

describe('comparing the monolith with a service row by row', () => {
  it('finds missing, differing and extra rows, with examples', () => {
    const source = new Map([
      ['1', 'a|x'],
      ['2', 'b|y'],
      ['3', 'c|z'],
    ]);
    const target = new Map([
      ['1', 'a|x'],
      ['2', 'b|changed'],
      ['4', 'd|w'],
    ]);
    const drift = compareRows(source, target);
    expect(drift).toMatchObject({ source: 3, target: 3, missing: 1, differing: 1, extra: 1 });
    expect(driftOf(drift)).toBe(3);
    expect(drift.examples).toContainEqual({
      key: '2',
      kind: 'differing',
      source: 'b|y',
      target: 'b|changed',
    });
  });

  it('reports no drift for equal tables', () => {
    const rows = new Map([['1', 'a']]);
    expect(driftOf(compareRows(rows, new Map(rows)))).toBe(0);
  });
});
