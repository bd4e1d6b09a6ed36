import { catalogStoreContract } from './catalog-store.contract.ts';
import { InMemoryCatalogStore } from './in-memory-catalog-store.ts';

catalogStoreContract('in memory', async () => {
  const store = new InMemoryCatalogStore();
  return { store, publishedIds: async () => store.published.map((message) => message.envelope.event_id) };
});
