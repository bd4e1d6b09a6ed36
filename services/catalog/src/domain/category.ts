import { fail, ok, type Result } from '@mercato/chassis/result';

export interface Category {
  slug: string;
  name: string;
}

export const SLUG_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

export type CategoryRejection = { reason: 'invalid_slug'; slug: string } | { reason: 'invalid_name' };

export function createCategory(input: Category): Result<Category, CategoryRejection> {
  if (!SLUG_PATTERN.test(input.slug) || input.slug.length > 64)
    return fail({ reason: 'invalid_slug', slug: input.slug });
  const name = input.name.trim();
  if (name.length === 0 || name.length > 100) return fail({ reason: 'invalid_name' });
  return ok({ slug: input.slug, name });
}
