import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stockLowCrossings } from './stock-low.ts';

const level = (sku: string, available: number, lowThreshold = 5) => ({ sku, available, lowThreshold });
const take = (sku: string, quantity: number, warehouseId = 'wh-a') => ({ sku, warehouseId, quantity });

describe('stockLowCrossings', () => {
  it('announces a SKU taken from above its threshold to at or below it, summed over warehouses', () => {
    const before = [level('A', 4, 5), level('A', 3, 5), level('B', 20)];
    expect(stockLowCrossings(before, [take('A', 2), take('B', 1)])).toEqual([
      { sku: 'A', available: 5, threshold: 5 },
    ]);
  });

  it('says nothing for a SKU that was already low, or stays above', () => {
    expect(stockLowCrossings([level('A', 5)], [take('A', 1)])).toEqual([]);
    expect(stockLowCrossings([level('A', 9)], [take('A', 3)])).toEqual([]);
  });

  it('uses the largest threshold among the warehouses', () => {
    expect(stockLowCrossings([level('A', 6, 2), level('A', 6, 8)], [take('A', 5)])).toEqual([
      { sku: 'A', available: 7, threshold: 8 },
    ]);
  });

  it('announces exactly the crossings, for any stock and any reservation', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 50 }),
        fc.integer({ min: 0, max: 10 }),
        fc.integer({ min: 0, max: 50 }),
        (available, threshold, wanted) => {
          const quantity = Math.min(available, wanted);
          const crossed = stockLowCrossings([level('A', available, threshold)], [take('A', quantity)]);
          const expected = available > threshold && available - quantity <= threshold;
          expect(crossed.length).toBe(expected ? 1 : 0);
        },
      ),
    );
  });
});
