import type { ConsumerDefinition } from '@mercato/chassis';
import { productCreated } from '@mercato/contracts';
import type { PostgresPriceBook } from '../persistence/postgres-price-book.ts';

/** Remembers each product's category, so category discounts apply to it. */
export const productCreatedConsumer = (book: PostgresPriceBook): ConsumerDefinition => ({
  group: 'pricing',
  kind: 'topic',
  destinations: [productCreated.type],
  handler: async (message, transaction) => {
    const product = productCreated.schema.parse(message.data);
    await book.recordProduct(transaction, product.sku, product.category);
  },
});
