import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyLegacyChange, type LegacyOrderChange, type LegacyOrderRow } from './legacy-order-summary.ts';
import type { OrderSummary } from './order-summary.ts';

const ID = 'ord_legacy_5';
const AT = '2026-11-02T09:00:00.000Z';
const row = (change: Partial<LegacyOrderRow> = {}): LegacyOrderRow => ({
  customerId: 'usr_legacy_42',
  status: 'confirmed',
  totalMinor: 4_000,
  currency: 'EUR',
  placedAt: '2024-01-01T01:40:00.000Z',
  updatedAt: '2024-01-02T08:00:00.000Z',
  ...change,
});
const order = (change: Partial<LegacyOrderRow> = {}, snapshot = false): LegacyOrderChange => ({
  type: 'order_changed',
  row: row(change),
  snapshot,
});
const line = (lineNo: number, quantity = 1, sku = `LEG-000${lineNo}`): LegacyOrderChange => ({
  type: 'line_changed',
  line: { lineNo, sku, quantity, unitPriceMinor: 1_000 },
});
const fold = (changes: LegacyOrderChange[], from?: OrderSummary) =>
  changes.reduce<OrderSummary | undefined>(
    (summary, change) => applyLegacyChange(summary, ID, change, AT),
    from,
  );

describe('applyLegacyChange', () => {
  it('makes a snapshot row and its lines a summary with the row as it is', () => {
    const summary = fold([order({}, true), line(2, 3), line(1, 1)]);
    expect(summary).toMatchObject({
      orderId: ID,
      customerId: 'usr_legacy_42',
      status: 'confirmed',
      totalMinor: 4_000,
      currency: 'EUR',
      itemCount: 4,
      placedAt: '2024-01-01T01:40:00.000Z',
      updatedAt: '2024-01-02T08:00:00.000Z',
      // The only time known of a snapshot row: when it entered the status it is in.
      confirmedAt: '2024-01-02T08:00:00.000Z',
      shippedAt: null,
      paymentStatus: 'none',
      orderVersion: 0,
    });
    expect(summary?.lines.map((l) => l.lineNo)).toEqual([1, 2]);
  });

  it('times each status the order moves into, and keeps the ones it had', () => {
    const shipped = fold([
      order({}, true),
      order({ status: 'shipped', updatedAt: '2024-01-03T00:00:00.000Z' }),
    ]);
    expect(shipped).toMatchObject({
      status: 'shipped',
      confirmedAt: '2024-01-02T08:00:00.000Z',
      shippedAt: '2024-01-03T00:00:00.000Z',
      updatedAt: '2024-01-03T00:00:00.000Z',
    });
    // The same status again (another column changed): its time stays when it was entered.
    const corrected = fold(
      [order({ status: 'shipped', totalMinor: 1, updatedAt: '2024-01-04T00:00:00.000Z' })],
      shipped,
    );
    expect(corrected).toMatchObject({ totalMinor: 1, shippedAt: '2024-01-03T00:00:00.000Z' });
    // pending has no column of its own: placedAt says it.
    expect(fold([order({ status: 'pending' })])).toMatchObject({ confirmedAt: null, cancelledAt: null });
  });

  it('adds, changes and deletes lines by number, the item count with them, not the order row times', () => {
    const summary = fold([
      order(),
      line(1, 2),
      line(2, 1),
      line(3, 5),
      { type: 'line_deleted', lineNo: 2 },
      line(1, 4, 'LEG-0009'),
    ]);
    expect(summary?.lines).toEqual([
      { lineNo: 1, sku: 'LEG-0009', quantity: 4, unitPriceMinor: 1_000 },
      { lineNo: 3, sku: 'LEG-0003', quantity: 5, unitPriceMinor: 1_000 },
    ]);
    expect(summary?.itemCount).toBe(9);
    expect(summary?.updatedAt).toBe(row().updatedAt);
  });

  it('starts the lines over on a snapshot row: a snapshot taken again lists the lines after it', () => {
    const summary = fold([order({}, true), line(1), line(2), order({}, true), line(1)]);
    expect(summary?.lines.map((l) => l.lineNo)).toEqual([1]);
  });

  it('forgets a deleted order; a line deleted after it changes nothing', () => {
    expect(fold([order(), line(1), { type: 'order_deleted' }])).toBeUndefined();
    expect(fold([{ type: 'line_deleted', lineNo: 1 }])).toBeUndefined();
  });

  it('keeps a line that comes before its order, shown to no customer until the order row names one', () => {
    const early = fold([line(1)]);
    expect(early).toMatchObject({ customerId: null, itemCount: 1 });
    expect(fold([order()], early)).toMatchObject({
      customerId: 'usr_legacy_42',
      itemCount: 1,
      confirmedAt: row().updatedAt,
    });
  });

  const changes = fc.oneof(
    fc.record({
      type: fc.constant('order_changed' as const),
      snapshot: fc.boolean(),
      row: fc.record({
        customerId: fc.constantFrom('usr_legacy_1', 'usr_legacy_2'),
        status: fc.constantFrom('pending', 'confirmed', 'shipped', 'delivered', 'cancelled'),
        totalMinor: fc.nat(10_000),
        currency: fc.constant('EUR'),
        placedAt: fc.constant('2024-01-01T00:00:00.000Z'),
        updatedAt: fc.constantFrom('2024-01-01T00:00:00.000Z', '2024-02-01T00:00:00.000Z'),
      }),
    }),
    fc.record({
      type: fc.constant('line_changed' as const),
      line: fc.record({
        lineNo: fc.integer({ min: 1, max: 4 }),
        sku: fc.constantFrom('LEG-0001', 'LEG-0002'),
        quantity: fc.integer({ min: 1, max: 5 }),
        unitPriceMinor: fc.integer({ min: 1, max: 9_999 }),
      }),
    }),
    fc.record({ type: fc.constant('line_deleted' as const), lineNo: fc.integer({ min: 1, max: 4 }) }),
    fc.constant({ type: 'order_deleted' as const }),
  );

  it('is idempotent: a change applied again leaves the summary as it was', () => {
    fc.assert(
      fc.property(fc.array(changes, { maxLength: 20 }), changes, (before, change) => {
        const once = fold([change], fold(before));
        expect(fold([change], once)).toEqual(once);
      }),
    );
  });

  it("keeps each line's last row, in line order, and counts their items", () => {
    fc.assert(
      fc.property(fc.array(changes, { maxLength: 30 }), (history) => {
        const model = new Map<number, number>();
        let exists = false;
        for (const change of history) {
          if (change.type === 'order_deleted') {
            exists = false;
            model.clear();
          } else if (change.type === 'order_changed') {
            exists = true;
            if (change.snapshot) model.clear();
          } else if (change.type === 'line_changed') {
            exists = true;
            model.set(change.line.lineNo, change.line.quantity);
          } else if (exists) model.delete(change.lineNo);
        }
        const summary = fold(history);
        expect(summary === undefined).toBe(!exists);
        expect(summary?.lines.map((l) => [l.lineNo, l.quantity]) ?? []).toEqual(
          [...model].sort(([a], [b]) => a - b),
        );
        expect(summary?.itemCount ?? 0).toBe([...model.values()].reduce((sum, q) => sum + q, 0));
      }),
    );
  });
});
