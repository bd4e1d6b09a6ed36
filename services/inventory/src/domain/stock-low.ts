import type { Allocation } from './allocation.ts';

export interface WarehouseLevel {
  sku: string;
  available: number;
  /** At or below this many available (across warehouses, the largest threshold) the SKU is low. */
  lowThreshold: number;
}

export interface StockLow {
  sku: string;
  available: number;
  threshold: number;
}

/**
 * The SKUs a reservation takes from above their low-stock threshold to at or below it: each
 * crossing is announced once, not every reservation made while the SKU stays low.
 */
export function stockLowCrossings(
  before: readonly WarehouseLevel[],
  taken: readonly Allocation[],
): StockLow[] {
  const skus = [...new Set(before.map((level) => level.sku))].sort();
  return skus.flatMap((sku) => {
    const levels = before.filter((level) => level.sku === sku);
    const total = levels.reduce((sum, level) => sum + level.available, 0);
    const quantity = taken.filter((a) => a.sku === sku).reduce((sum, a) => sum + a.quantity, 0);
    const threshold = Math.max(...levels.map((level) => level.lowThreshold));
    return total > threshold && total - quantity <= threshold
      ? [{ sku, available: total - quantity, threshold }]
      : [];
  });
}
