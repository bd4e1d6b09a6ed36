import { fail, ok, type Result } from '@mercato/chassis/result';

export interface ReservationLine {
  sku: string;
  quantity: number;
}

export interface WarehouseLevel {
  sku: string;
  warehouseId: string;
  available: number;
}

export interface Allocation {
  sku: string;
  warehouseId: string;
  quantity: number;
}

export interface Shortfall {
  sku: string;
  requested: number;
  available: number;
}

/** Merges lines for the same SKU, so a basket listing a SKU twice is checked against its total. */
export function mergeLines(lines: readonly ReservationLine[]): ReservationLine[] {
  const totals = new Map<string, number>();
  for (const line of lines) totals.set(line.sku, (totals.get(line.sku) ?? 0) + line.quantity);
  return [...totals].map(([sku, quantity]) => ({ sku, quantity }));
}

/**
 * All or nothing: covers every line from the warehouses' available stock, fullest warehouse first
 * so a line splits over as few warehouses as possible, or reports every line it cannot cover.
 */
export function allocate(
  lines: readonly ReservationLine[],
  levels: readonly WarehouseLevel[],
): Result<Allocation[], Shortfall[]> {
  const allocations: Allocation[] = [];
  const shortfalls: Shortfall[] = [];
  for (const line of mergeLines(lines)) {
    const candidates = levels
      .filter((level) => level.sku === line.sku && level.available > 0)
      .sort((a, b) => b.available - a.available || a.warehouseId.localeCompare(b.warehouseId));
    const total = candidates.reduce((sum, level) => sum + level.available, 0);
    if (total < line.quantity) {
      shortfalls.push({ sku: line.sku, requested: line.quantity, available: total });
      continue;
    }
    let remaining = line.quantity;
    for (const level of candidates) {
      if (remaining === 0) break;
      const quantity = Math.min(remaining, level.available);
      allocations.push({ sku: line.sku, warehouseId: level.warehouseId, quantity });
      remaining -= quantity;
    }
  }
  return shortfalls.length > 0 ? fail(shortfalls) : ok(allocations);
}
