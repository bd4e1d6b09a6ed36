import { describe, expect, it } from 'vitest';
import { pairsOf, recommend } from './bought-together.ts';

describe('bought together', () => {
  it('pairs every two distinct SKUs of an order both ways, once', () => {
    expect(pairsOf(['B', 'A', 'B'])).toEqual([
      ['A', 'B'],
      ['B', 'A'],
    ]);
    expect(pairsOf(['A'])).toEqual([]);
    expect(pairsOf(['A', 'B', 'C'])).toHaveLength(6);
  });

  it('recommends bought-together first, then popular, never what the customer owns or twice', () => {
    const together = [
      { sku: 'B', reason: 'bought_together' as const, score: 5, category: 'books' },
      { sku: 'A', reason: 'bought_together' as const, score: 4, category: 'books' },
    ];
    const popular = [
      { sku: 'B', reason: 'popular_in_category' as const, score: 9, category: 'books' },
      { sku: 'C', reason: 'popular_in_category' as const, score: 3, category: 'books' },
      { sku: 'D', reason: 'popular_in_category' as const, score: 2, category: 'books' },
    ];
    expect(recommend(together, popular, new Set(['A']), 3).map((r) => [r.sku, r.reason])).toEqual([
      ['B', 'bought_together'],
      ['C', 'popular_in_category'],
      ['D', 'popular_in_category'],
    ]);
  });
});
