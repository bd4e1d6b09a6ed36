import { fail, ok, type Result } from '@mercato/chassis/result';

export interface Product {
  id: string;
  sku: string;
  name: string;
  description: string;
  categorySlug: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewProduct {
  sku: string;
  name: string;
  description: string;
  categorySlug: string;
}

export interface ProductCreated {
  type: 'product.created';
  productId: string;
  sku: string;
  name: string;
  slug: string;
  categorySlug: string;
  occurredAt: Date;
}

export type ProductRejection =
  | { reason: 'invalid_sku'; sku: string }
  | { reason: 'invalid_name' }
  | { reason: 'description_too_long'; max: number };

/**
 * A product's name as a URL path segment: lower-case ASCII letters and digits, words joined by `-`
 * (accents dropped, anything else a separator), at most 80 characters; the SKU's when the name has
 * no letter or digit.
 */
export function productSlug(product: Pick<Product, 'name' | 'sku'>): string {
  const words = product.name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  const slug = words.join('-').slice(0, 80).replace(/-+$/, '');
  return slug || product.sku.toLowerCase();
}

export const SKU_PATTERN = /^[A-Z0-9][A-Z0-9-]{2,31}$/;
export const NAME_MAX = 200;
export const DESCRIPTION_MAX = 2_000;

/** Creates a product from valid input; returns the product and the event it caused. */
export function createProduct(
  input: NewProduct,
  id: string,
  now: Date,
): Result<{ product: Product; events: [ProductCreated] }, ProductRejection> {
  const sku = input.sku.trim().toUpperCase();
  if (!SKU_PATTERN.test(sku)) return fail({ reason: 'invalid_sku', sku: input.sku });
  const name = input.name.trim();
  if (name.length === 0 || name.length > NAME_MAX) return fail({ reason: 'invalid_name' });
  if (input.description.length > DESCRIPTION_MAX)
    return fail({ reason: 'description_too_long', max: DESCRIPTION_MAX });

  const product: Product = {
    id,
    sku,
    name,
    description: input.description.trim(),
    categorySlug: input.categorySlug,
    createdAt: now,
    updatedAt: now,
  };
  const event: ProductCreated = {
    type: 'product.created',
    productId: id,
    sku,
    name,
    slug: productSlug(product),
    categorySlug: product.categorySlug,
    occurredAt: now,
  };
  return ok({ product, events: [event] });
}
