import { catalogStoreContract } from './catalog-store.contract.ts';
import { InMemoryCatalogStore } from './in-memory-catalog-store.ts';

catalogStoreContract('in memory', async () => new InMemoryCatalogStore());
