import * as z from 'zod';
import { SLUG_PATTERN } from '../../domain/category.ts';
import { type Product, productSlug } from '../../domain/product.ts';
import { MAX_PAGE_SIZE } from '../../domain/product-search.ts';

export const productSchema = z.object({
  id: z.string(),
  sku: z.string(),
  name: z.string(),
  description: z.string(),
  category: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
  /** The name as a URL path segment (added in the version after the first). */
  slug: z.string(),
});

export const productPageSchema = z.object({
  items: z.array(productSchema),
  page: z.number().int(),
  page_size: z.number().int(),
  total: z.number().int(),
});

export const listProductsQuery = z.object({
  q: z.string().max(200).optional(),
  category: z.string().regex(SLUG_PATTERN).optional(),
  page: z.coerce.number().int().min(1).max(10_000).default(1),
  page_size: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(20),
});

export const productIdParams = z.object({ id: z.string().min(1).max(64) });

export const newProductBody = z.object({
  sku: z.string().min(3).max(32),
  name: z.string().min(1).max(200),
  description: z.string().max(2_000).default(''),
  category: z.string().min(1).max(64),
});

export const categorySchema = z.object({ slug: z.string(), name: z.string() });

export const newCategoryBody = z.object({
  slug: z.string().min(1).max(64),
  name: z.string().min(1).max(100),
});

export const toProductJson = (product: Product): z.infer<typeof productSchema> => ({
  id: product.id,
  sku: product.sku,
  name: product.name,
  description: product.description,
  category: product.categorySlug,
  created_at: product.createdAt.toISOString(),
  updated_at: product.updatedAt.toISOString(),
  slug: productSlug(product),
});
