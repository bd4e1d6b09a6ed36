import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allocate } from './allocation.ts';

const levels = [
  { sku: 'A', warehouseId: 'wh-berlin', available: 3 },
  { sku: 'A', warehouseId: 'wh-lyon', available: 5 },
  { sku: 'B', warehouseId: 'wh-berlin', available: 1 },
];

describe('allocate', () => {
  it('takes from the fullest warehouse first', () => {
    expect(allocate([{ sku: 'A', quantity: 4 }], levels)).toEqual({
      ok: true,
      value: [{ sku: 'A', warehouseId: 'wh-lyon', quantity: 4 }],
    });
  });

  it('splits a line across warehouses when one is not enough', () => {
    const result = allocate([{ sku: 'A', quantity: 7 }], levels);
    expect(result).toEqual({
      ok: true,
      value: [
        { sku: 'A', warehouseId: 'wh-lyon', quantity: 5 },
        { sku: 'A', warehouseId: 'wh-berlin', quantity: 2 },
      ],
    });
  });

  it('reserves nothing when any line falls short, and names every short line', () => {
    const result = allocate(
      [
        { sku: 'A', quantity: 2 },
        { sku: 'B', quantity: 2 },
        { sku: 'C', quantity: 1 },
      ],
      levels,
    );
    expect(result).toEqual({
      ok: false,
      error: [
        { sku: 'B', requested: 2, available: 1 },
        { sku: 'C', requested: 1, available: 0 },
      ],
    });
  });

  it('checks a SKU listed twice against its total', () => {
    expect(
      allocate(
        [
          { sku: 'B', quantity: 1 },
          { sku: 'B', quantity: 1 },
        ],
        levels,
      ).ok,
    ).toBe(false);
  });

  it('never allocates more than requested or than a warehouse holds', () => {
    const level = fc.record({
      sku: fc.constantFrom('A', 'B'),
      warehouseId: fc.constantFrom('w1', 'w2', 'w3'),
      available: fc.nat(20),
    });
    const line = fc.record({ sku: fc.constantFrom('A', 'B'), quantity: fc.integer({ min: 1, max: 30 }) });
    fc.assert(
      fc.property(
        fc.uniqueArray(level, { selector: (l) => `${l.sku}/${l.warehouseId}` }),
        fc.array(line),
        (stock, lines) => {
          const result = allocate(lines, stock);
          if (!result.ok) return;
          for (const sku of ['A', 'B']) {
            const wanted = lines.filter((l) => l.sku === sku).reduce((sum, l) => sum + l.quantity, 0);
            const got = result.value.filter((a) => a.sku === sku).reduce((sum, a) => sum + a.quantity, 0);
            expect(got).toBe(wanted);
          }
          for (const allocation of result.value) {
            const held = stock.find(
              (l) => l.sku === allocation.sku && l.warehouseId === allocation.warehouseId,
            );
            expect(allocation.quantity).toBeLessThanOrEqual(held?.available ?? 0);
          }
        },
      ),
    );
  });
});
