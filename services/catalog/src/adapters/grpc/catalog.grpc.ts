import { create } from '@bufbuild/protobuf';
import type { ConnectRouter } from '@connectrpc/connect';
import { parseRequest } from '@mercato/chassis';
import {
  CatalogService,
  type Product as ProductMessage,
  ProductSchema,
} from '@mercato/contracts/grpc/catalog';
import * as z from 'zod';
import type { CatalogService as Catalog } from '../../application/catalog-service.ts';
import { type Product, productSlug } from '../../domain/product.ts';
import type { Page } from '../../domain/product-search.ts';

const pageFields = {
  // proto3 sends 0 for "not set".
  page: z
    .number()
    .int()
    .min(0)
    .max(100_000)
    .transform((page) => page || 1),
  pageSize: z
    .number()
    .int()
    .min(0)
    .max(100)
    .transform((size) => size || 20),
};
const getProductRequest = z.object({ id: z.string().min(1).max(64) });
const listProductsRequest = z.object({ categorySlug: z.string().max(64), ...pageFields });
const searchProductsRequest = z.object({ query: z.string().trim().min(1).max(200), ...pageFields });

export const toProductMessage = (product: Product): ProductMessage =>
  create(ProductSchema, {
    id: product.id,
    sku: product.sku,
    name: product.name,
    description: product.description,
    categorySlug: product.categorySlug,
    createdAt: product.createdAt.toISOString(),
    updatedAt: product.updatedAt.toISOString(),
    slug: productSlug(product),
  });

const toPageMessage = (page: Page<Product>) => ({
  products: page.items.map(toProductMessage),
  page: page.page,
  pageSize: page.pageSize,
  total: page.total,
});

export const catalogGrpc = (catalog: Catalog) => (router: ConnectRouter) =>
  router.service(CatalogService, {
    async getProduct(request) {
      const { id } = parseRequest(getProductRequest, request);
      return { product: toProductMessage(await catalog.getProduct(id)) };
    },
    async listProducts(request) {
      const query = parseRequest(listProductsRequest, request);
      return toPageMessage(
        await catalog.listProducts({
          categorySlug: query.categorySlug || undefined,
          page: query.page,
          pageSize: query.pageSize,
        }),
      );
    },
    async listCategories() {
      return { categories: await catalog.listCategories() };
    },
    async searchProducts(request) {
      const query = parseRequest(searchProductsRequest, request);
      return toPageMessage(
        await catalog.listProducts({ text: query.query, page: query.page, pageSize: query.pageSize }),
      );
    },
  });
