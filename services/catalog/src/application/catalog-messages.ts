import type { OutboxEntry } from '@mercato/chassis';
import { createEnvelope, productCreated } from '@mercato/contracts';
import type { ProductCreated } from '../domain/product.ts';

/** product.created on its topic, keyed by the product so a product's events keep their order. */
export const productCreatedMessage = (event: ProductCreated, correlationId: string): OutboxEntry => ({
  kind: 'topic',
  destination: productCreated.type,
  key: event.productId,
  envelope: createEnvelope({
    contract: productCreated,
    source: 'catalog',
    correlationId,
    now: event.occurredAt,
    data: {
      product_id: event.productId,
      sku: event.sku,
      name: event.name,
      slug: event.slug,
      category: event.categorySlug,
    },
  }),
});
