import { runService } from '@mercato/chassis';
import { inventoryDefinition } from './inventory.service.ts';

await runService(inventoryDefinition);
