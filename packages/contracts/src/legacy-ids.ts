/**
 * How the monolith's integer keys become the services' ids when its data moves (strangler fig):
 * deterministic, so every service that takes over a piece of a customer or an order names it the
 * same way without asking another, and the checker can find each row's counterpart.
 */
const legacyKey = /^\d{1,19}$/;

const mapped =
  (prefix: string) =>
  (legacyId: string | number): string => {
    const key = String(legacyId);
    if (!legacyKey.test(key)) throw new Error(`not a legacy key: ${key}`);
    return `${prefix}_legacy_${key}`;
  };

/** A legacy customer is a user of identity and a customer of customer under this id. */
export const legacyUserId = mapped('usr');
export const legacyOrderId = mapped('ord');
/** A legacy product is a product of catalog under this id (pricing and inventory key it by its SKU). */
export const legacyProductId = mapped('prd');

/**
 * A SKU of the monolith as the services spell it (the catalog trims and upper-cases every SKU it
 * takes): pricing's prices and inventory's levels of it are found by what the catalog holds.
 */
export const legacySku = (sku: string): string => sku.trim().toUpperCase();

/** The legacy key of an id made by `legacyUserId`/`legacyOrderId`/`legacyProductId`, or undefined for a service's own. */
export function legacyKeyOf(id: string): string | undefined {
  const match = /^[a-z]+_legacy_(\d{1,19})$/.exec(id);
  return match?.[1];
}

/** Order statuses of the monolith as the services name them. */
export const legacyOrderStatus: Record<string, string> = {
  placed: 'pending',
  paid: 'confirmed',
  shipped: 'shipped',
  delivered: 'delivered',
  cancelled: 'cancelled',
};

/**
 * A captured change's `source.lsn` (`16/B374D848`, a position in the monolith's write-ahead log) as
 * one comparable integer: changes of one row apply in this order. Not the row's `updated_at`: that
 * is its transaction's start, and two transactions can commit the other way round.
 */
export function logPositionValue(lsn: string): bigint {
  const [high, low, ...rest] = lsn.split('/');
  if (!high || !low || rest.length > 0 || !/^[0-9A-Fa-f]{1,8}$/.test(high) || !/^[0-9A-Fa-f]{1,8}$/.test(low))
    throw new Error(`not an LSN: ${lsn}`);
  return (BigInt(`0x${high}`) << 32n) | BigInt(`0x${low}`);
}

/** Negative when `a` is earlier in the monolith's log than `b`, zero for the same commit, positive when later. */
export function compareLogPositions(a: string, b: string): number {
  const [x, y] = [logPositionValue(a), logPositionValue(b)];
  return x < y ? -1 : x > y ? 1 : 0;
}
