import { AppError, conflict, notFound, validationFailed } from '@mercato/chassis';
import type { CategoryRejection } from '../domain/category.ts';
import type { ProductRejection } from '../domain/product.ts';

/** The catalog's stable error codes, all in one place. */
export const catalogErrors = {
  productNotFound: (id: string) => notFound('CATALOG.PRODUCT_NOT_FOUND', `Product ${id} does not exist`),
  duplicateSku: (sku: string) =>
    conflict('CATALOG.DUPLICATE_SKU', `A product with SKU ${sku} already exists`, { sku }),
  unknownCategory: (slug: string) =>
    new AppError({
      code: 'CATALOG.UNKNOWN_CATEGORY',
      kind: 'validation',
      message: `Category ${slug} does not exist`,
      details: { errors: [{ field: 'body.category', message: `unknown category "${slug}"` }] },
    }),
  rejectedProduct: (rejection: ProductRejection) => {
    switch (rejection.reason) {
      case 'invalid_sku':
        return validationFailed([
          { field: 'body.sku', message: 'expected 3-32 characters of A-Z, 0-9 and -' },
        ]);
      case 'invalid_name':
        return validationFailed([{ field: 'body.name', message: 'expected 1-200 characters' }]);
      case 'description_too_long':
        return validationFailed([
          { field: 'body.description', message: `expected at most ${rejection.max} characters` },
        ]);
    }
  },
  rejectedCategory: (rejection: CategoryRejection) =>
    rejection.reason === 'invalid_slug'
      ? validationFailed([{ field: 'body.slug', message: 'expected lowercase words joined by -' }])
      : validationFailed([{ field: 'body.name', message: 'expected 1-100 characters' }]),
};
