import { isDeepStrictEqual } from 'node:util';
import { legacyKeyOf, legacyProductId } from '@mercato/contracts';
import * as z from 'zod';

/** A product as the monolith's API answers one (`GET /api/products[/:id]`): with its stock. */
export const legacyProduct = z.object({
  id: z.number(),
  sku: z.string(),
  name: z.string(),
  priceCents: z.number(),
  stockQuantity: z.number(),
  updatedAt: z.string(),
});
export type LegacyProduct = z.output<typeof legacyProduct>;

/** What the services hold of one product of the monolith, each part from the service that owns it. */
export interface ProductParts {
  /** catalog's `prd_legacy_<id>` */
  product: { id: string; sku: string; name: string; updatedAt: string };
  /** pricing's list price of its SKU, in minor units */
  priceMinor: number;
  /** inventory's level of its SKU (the monolith's shelf while it sells them), 0 with none */
  available: number;
}

/** The monolith's key of catalog's `prd_legacy_<key>`; undefined for any other product. */
export function monolithProductKey(productId: string): string | undefined {
  const key = legacyKeyOf(productId);
  return key !== undefined && legacyProductId(key) === productId ? key : undefined;
}

/** The services' parts of a product in the monolith's shape. */
export function inMonolithShape({ product, priceMinor, available }: ProductParts): LegacyProduct {
  const key = monolithProductKey(product.id);
  if (key === undefined) throw new Error(`not a product of the monolith: ${product.id}`);
  return {
    id: Number(key),
    sku: product.sku,
    name: product.name,
    priceCents: priceMinor,
    stockQuantity: available,
    updatedAt: product.updatedAt,
  };
}

/**
 * A difference between the monolith's answer and the services' that is no fault of theirs: the
 * product changed within `inFlightMs` (its change may still be on its way), or only the stock differs
 * — the monolith's shelf moves with every order it takes, and its answer says nothing of when; the
 * drift checker compares the shelf with its own settle window.
 */
export function inFlight(
  monolith: LegacyProduct,
  services: LegacyProduct,
  inFlightMs: number,
  now = Date.now(),
): boolean {
  if (Date.parse(monolith.updatedAt) > now - inFlightMs) return true;
  const { stockQuantity: _monolithStock, ...monolithRest } = monolith;
  const { stockQuantity: _servicesStock, ...servicesRest } = services;
  return isDeepStrictEqual(monolithRest, servicesRest);
}
